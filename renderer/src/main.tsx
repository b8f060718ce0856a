import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connect } from './api';
import { createStores, startStores, StoresContext } from './store';
import { App } from './views/App';
import './styles.css';

const stores = createStores(connect());
void startStores(stores);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StoresContext.Provider value={stores}>
      <App />
    </StoresContext.Provider>
  </StrictMode>,
);
