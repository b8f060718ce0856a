/*
 * lseek(2) with SEEK_DATA / SEEK_HOLE for Node, which has no lseek: finds the holes of a thin
 * flat extent (a `truncate -s 4T` raw, a thin -flat.vmdk) without reading them.
 * seekData(fd, offset) / seekHole(fd, offset) return the next data / hole offset at or after
 * offset, or -1 when there is none (ENXIO); other errors throw with the errno name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <node_api.h>

#ifndef SEEK_DATA
#define SEEK_DATA 3
#define SEEK_HOLE 4
#endif

static napi_value seek(napi_env env, napi_callback_info info, int whence) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  double offset;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_double(env, argv[1], &offset) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected (fd, offset)");
    return NULL;
  }
  off_t at = lseek(fd, (off_t)offset, whence);
  if (at < 0) {
    if (errno == ENXIO) {
      napi_create_double(env, -1, &result);
      return result;
    }
    napi_throw_error(env, strerror(errno), strerror(errno));
    return NULL;
  }
  napi_create_double(env, (double)at, &result);
  return result;
}

static napi_value seek_data(napi_env env, napi_callback_info info) { return seek(env, info, SEEK_DATA); }
static napi_value seek_hole(napi_env env, napi_callback_info info) { return seek(env, info, SEEK_HOLE); }

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"seekData", NULL, seek_data, NULL, NULL, NULL, napi_default, NULL},
      {"seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
