{
  "targets": [
    {
      "target_name": "seek_hole",
      "sources": ["native/seek-hole.c"],
      "conditions": [["OS=='win'", { "type": "none", "sources!": ["native/seek-hole.c"] }]]
    }
  ]
}
