/*
 * info_devices.h: the device part of `legacygpu info`: every device of the device
 * backends (Vulkan) with everything its backend knows, and what `--backend auto` picks.
 */
#ifndef LG_INFO_DEVICES_H
#define LG_INFO_DEVICES_H

#include <jansson.h>

/* [{"backend": "vulkan", "index": 0, "name": ..., "auto": false, ...}] (describe objects). */
json_t *lg_info_devices_json(void);
/* "vulkan:0" or "cpu": the device --backend auto would take (the first one allowed). */
json_t *lg_info_auto_json(json_t *devices);
/* One block per device, then the auto line. */
void lg_info_devices_print(json_t *devices, json_t *auto_choice);

#endif
