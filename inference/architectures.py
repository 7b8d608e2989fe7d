"""Network architectures, one builder function each.

Every model takes grey 48x48 faces with values 0-255 and rescales them by 1/255
itself, so training and serving cannot disagree about preprocessing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
from keras import layers

from inference.labels import FACE_SIZE, NUM_CLASSES

INPUT_SHAPE = (FACE_SIZE, FACE_SIZE, 1)


def _classifier_head(features: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    # The softmax stays float32 under mixed precision so probabilities sum to one exactly.
    logits = layers.Dense(num_classes, name="logits")(features)
    return layers.Activation("softmax", dtype="float32", name="probabilities")(logits)


def build_paper_cnn(input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """The reference design: four conv layers of 64-128 filters, max pooling, dropout, a dense layer."""
    inputs = keras.Input(shape=input_shape, name="face")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(1024, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, _classifier_head(x, num_classes), name="paper_cnn")


def _conv_bn_relu(x: keras.KerasTensor, filters: int) -> keras.KerasTensor:
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def build_vgg_bn(
    input_shape: tuple[int, int, int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    *,
    widths: tuple[int, int, int, int] = (32, 64, 128, 256),
    dense_units: int = 256,
    name: str = "vgg_bn",
) -> keras.Model:
    """A VGG-style net with batch normalisation: four blocks of two 3x3 convs, 32 to 256 filters.

    Narrow at full resolution and wide at low resolution: 1.8M parameters and about
    0.1 GMAC per face, so it trains on CPU cores alone (the model card has the training time).
    """
    inputs = keras.Input(shape=input_shape, name="face")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for filters, dropout in zip(widths, (0.1, 0.1, 0.2, 0.25), strict=True):
        x = _conv_bn_relu(x, filters)
        x = _conv_bn_relu(x, filters)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(dense_units, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, _classifier_head(x, num_classes), name=name)


def build_vgg_bn_wide(input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """``vgg_bn`` one and a half times as wide (48 to 384 filters, a 512-unit dense layer).

    About 4.8M parameters and 0.27 GMAC per face: room for the strong augmentation, which
    ``vgg_bn`` underfits, at a serving cost that int8 keeps near 2 ms for four views.
    """
    return build_vgg_bn(input_shape, num_classes, widths=(48, 96, 192, 384), dense_units=512, name="vgg_bn_wide")


def build_resnet50(
    input_shape: tuple[int, int, int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    *,
    weights_path: str | Path | None = None,
    backbone_size: int = 96,
) -> keras.Model:
    """ResNet50 transfer learning: grey replicated to RGB, resized for the backbone, two dense layers on top.

    ``weights_path`` is a local ImageNet weights file for ResNet50 without its top
    (this machine cannot download one); without it the backbone starts from random weights.
    """
    inputs = keras.Input(shape=input_shape, name="face")
    x = layers.Resizing(backbone_size, backbone_size, name="resize_for_backbone")(inputs)
    x = layers.Concatenate(name="grey_to_rgb")([x, x, x])
    # ResNet50's own preprocessing ("caffe": BGR, ImageNet means subtracted) as a saved layer, not a Lambda,
    # so checkpoints load without unsafe deserialisation. Grey in three channels needs no channel swap.
    x = layers.Normalization(mean=[103.939, 116.779, 123.68], variance=[1.0, 1.0, 1.0], name="imagenet_means")(x)
    backbone = keras.applications.ResNet50(
        include_top=False,
        weights=str(weights_path) if weights_path else None,
        input_shape=(backbone_size, backbone_size, 3),
        pooling="avg",
        name="backbone",
    )
    x = backbone(x)
    x = layers.Dense(256, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4), name="top_dense")(x)
    x = layers.Dropout(0.2)(x)
    return keras.Model(inputs, _classifier_head(x, num_classes), name="resnet50")


ARCHITECTURES: dict[str, Callable[..., keras.Model]] = {
    "paper_cnn": build_paper_cnn,
    "vgg_bn": build_vgg_bn,
    "vgg_bn_wide": build_vgg_bn_wide,
    "resnet50": build_resnet50,
}
