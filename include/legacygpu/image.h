/*
 * legacygpu/image.h: decoding images and turning them into model input tensors.
 * (Being written; see the image/infer work.)
 */
#ifndef LEGACYGPU_IMAGE_H
#define LEGACYGPU_IMAGE_H
#endif
