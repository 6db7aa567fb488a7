"""Pack a VAE's decoder (and, for the views that encode in the page, its encoder) into one compact binary
blob each that the in-page JS (decoder.mjs) runs.

No streamlit here. The blob is what the browser receives, once per model:

    b"LEXD" | uint32 little-endian header length | header JSON (UTF-8, space-padded to 4 bytes) | float32 data

The header lists the layers in order, each with its shapes and the offsets (in float32 elements, from the
start of the data) of its weights. Weights keep torch's layouts: Linear (out, in), ConvTranspose2d
(in, out, kH, kW). The decoder ends with the output link: sigmoid of the first C channels, which is the
mean image of a Bernoulli decoder (sigmoid of the logits) and of a Gaussian one (sigmoid of the mean channels).

The encoder's blob (``pack_encoder``, header format "latent-explorer-encoder") has the same layout. Its
input is the image in torch's (C, H, W) order ("reshape" makes it channel-last for a conv encoder, as
the decoder's reshape does its first activations); Conv2d keeps torch's (out, in, kH, kW); "flatten" turns
the channel-last activations back into torch's (C, H, W) order before the first Linear; the last step,
"gaussian_posterior", splits the output into mu and logvar, as ``VAE.encode`` does.

``decoder_layers`` and ``encoder_layers`` raise ``UnsupportedDecoder`` (with the reason) for anything the
JS cannot run, so the app falls back to the server and says why.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
from torch import nn

from explorer.model import VAE, ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder

MAGIC = b"LEXD"
FORMAT_VERSION = 1
ACTIVATION_OPS: dict[type[nn.Module], str] = {nn.ReLU: "relu", nn.SiLU: "silu"}  # what decoder.mjs implements


class UnsupportedDecoder(ValueError):
    """The in-page decoder cannot run this model; the message says which part."""


def _activation(module: nn.Module) -> dict[str, Any]:
    op = ACTIVATION_OPS.get(type(module))
    if op is None:
        raise UnsupportedDecoder(f"the activation {type(module).__name__} is not implemented in the browser "
                                 f"decoder (it runs {', '.join(sorted(ACTIVATION_OPS.values()))})")
    return {"op": op}


def _layer(module: nn.Module, tensors: list[np.ndarray]) -> dict[str, Any]:
    """The header entry of one module; appends its weights to ``tensors``."""
    if isinstance(module, nn.Linear):
        if module.bias is None:
            raise UnsupportedDecoder("a Linear layer without bias is not implemented in the browser decoder")
        tensors += [module.weight.detach().float().numpy(), module.bias.detach().float().numpy()]
        return {"op": "linear", "in": module.in_features, "out": module.out_features}
    if isinstance(module, nn.ConvTranspose2d):
        square = len(set(module.kernel_size)) == len(set(module.stride)) == len(set(module.padding)) == 1
        if (module.groups != 1 or module.dilation != (1, 1) or module.bias is None or not square
                or module.padding_mode != "zeros"):
            raise UnsupportedDecoder("only square, ungrouped, undilated ConvTranspose2d layers with bias run "
                                     "in the browser decoder")
        tensors += [module.weight.detach().float().numpy(), module.bias.detach().float().numpy()]
        return {"op": "conv_transpose2d", "in": module.in_channels, "out": module.out_channels,
                "kernel": module.kernel_size[0], "stride": module.stride[0], "padding": module.padding[0],
                "output_padding": list(module.output_padding)}
    return _activation(module)


def _conv2d(module: nn.Conv2d, tensors: list[np.ndarray]) -> dict[str, Any]:
    square = len(set(module.kernel_size)) == len(set(module.stride)) == len(set(module.padding)) == 1
    if (module.groups != 1 or module.dilation != (1, 1) or module.bias is None or not square
            or module.padding_mode != "zeros" or isinstance(module.padding, str)):
        raise UnsupportedDecoder("only square, ungrouped, undilated, zero-padded Conv2d layers with bias run "
                                 "in the browser encoder")
    tensors += [module.weight.detach().float().numpy(), module.bias.detach().float().numpy()]
    return {"op": "conv2d", "in": module.in_channels, "out": module.out_channels, "kernel": module.kernel_size[0],
            "stride": module.stride[0], "padding": module.padding[0]}


def encoder_layers(model: VAE) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """Header entries and weight arrays of the model's encoder, the posterior split included."""
    if type(model.encoder) not in (MLPEncoder, ConvEncoder):
        raise UnsupportedDecoder(f"the encoder class {type(model.encoder).__name__} is not one the browser knows")
    c, h, w = model.config.image_shape
    layers: list[dict[str, Any]] = []
    tensors: list[np.ndarray] = []
    if type(model.encoder) is ConvEncoder:
        layers.append({"op": "reshape", "shape": [c, h, w]})  # the image, channel-last for the convolutions
    for module in model.encoder.net:
        if isinstance(module, nn.Flatten):
            if type(model.encoder) is ConvEncoder:
                layers.append({"op": "flatten"})
            continue  # the MLP's input is already flat, in torch's order
        if isinstance(module, nn.Conv2d):
            layers.append(_conv2d(module, tensors))
        else:
            layers.append(_layer(module, tensors))
    layers.append({"op": "gaussian_posterior", "latent_dim": model.config.latent_dim})
    return layers, tensors


def _modules(decoder: nn.Module) -> list[nn.Module | tuple[str, tuple[int, ...]]]:
    """The decoder as a flat list of modules and ("reshape", shape) steps, in the order forward() runs them."""
    if type(decoder) is MLPDecoder:
        return [*decoder.net, ("reshape", tuple(decoder.out_shape))]
    if type(decoder) is ConvDecoder:
        return [*decoder.fc, ("reshape", tuple(decoder.start_shape)), *decoder.net]
    raise UnsupportedDecoder(f"the decoder class {type(decoder).__name__} is not one the browser decoder knows")


def decoder_layers(model: VAE) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """Header entries and weight arrays of the model's decoder, output link included. Raises UnsupportedDecoder."""
    layers: list[dict[str, Any]] = []
    tensors: list[np.ndarray] = []
    for step in _modules(model.decoder):
        if isinstance(step, tuple):
            layers.append({"op": "reshape", "shape": list(step[1])})
        else:
            layers.append(_layer(step, tensors))
    channels = model.config.image_shape[0]
    if model.config.likelihood not in ("bernoulli", "gaussian"):
        raise UnsupportedDecoder(f"the {model.config.likelihood} likelihood has no output link in the browser")
    layers.append({"op": "sigmoid_mean", "channels": channels})  # Bernoulli: sigmoid(logits); Gaussian: of the mean
    return layers, tensors


def unsupported_reason(model: VAE) -> str | None:
    """None when the browser can decode this model, else why not (for the note shown with the fallback)."""
    try:
        decoder_layers(model)
    except UnsupportedDecoder as err:
        return str(err)
    return None


def pack(model: VAE, model_id: str = "") -> bytes:
    """The decoder as one blob (see the module docstring); ``model_id`` names it in the page. Raises UnsupportedDecoder."""
    return _blob("latent-explorer-decoder", model, model_id, *decoder_layers(model))


def likelihood_spec(model: VAE) -> dict[str, Any]:
    """What the page needs to score an image under p(x|z) from the decoder's raw output (VAE.log_likelihood)."""
    config = model.config
    spec: dict[str, Any] = {"kind": config.likelihood, "channels": config.image_shape[0]}
    if config.likelihood == "gaussian":
        spec.update(scale=config.gaussian_scale, min_log_sigma=float(config.min_log_sigma))
        if config.gaussian_scale == "shared":
            spec["log_sigma"] = float(model.log_sigma.detach())
    elif config.likelihood != "bernoulli":
        raise UnsupportedDecoder(f"the {config.likelihood} likelihood is not implemented in the browser")
    return spec


def pack_encoder(model: VAE, model_id: str = "") -> bytes:
    """The encoder as one blob, as ``pack`` does the decoder, with the likelihood's settings (``likelihood_spec``)
    in its header, so the page can score the ELBO. Raises UnsupportedDecoder."""
    return _blob("latent-explorer-encoder", model, model_id, *encoder_layers(model),
                 likelihood=likelihood_spec(model))


def _blob(kind: str, model: VAE, model_id: str, layers: list[dict[str, Any]], tensors: list[np.ndarray],
          **extra: Any) -> bytes:
    pairs = iter(zip(tensors[0::2], tensors[1::2]))  # (weight, bias) per layer that has weights, in order
    offset = 0
    for layer in layers:
        if layer["op"] in ("linear", "conv_transpose2d", "conv2d"):
            weight, bias = next(pairs)
            layer["weight"], layer["bias"] = offset, offset + weight.size
            layer["weight_shape"] = list(weight.shape)
            offset += weight.size + bias.size
    header = {"format": kind, "version": FORMAT_VERSION, "model_id": model_id,
              "latent_dim": model.config.latent_dim, "image_shape": list(model.config.image_shape),
              "floats": offset, "layers": layers, **extra}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(len(MAGIC) + 4 + len(text)) % 4)  # the float32 data starts 4-byte aligned
    data = np.concatenate([t.astype("<f4").ravel() for t in tensors]) if tensors else np.zeros(0, "<f4")
    return MAGIC + struct.pack("<I", len(text)) + text + data.tobytes()


def unpack_header(blob: bytes) -> dict[str, Any]:
    """The header of a blob (for tests and tools)."""
    if blob[:4] != MAGIC:
        raise ValueError("not a Latent Explorer decoder blob")
    (length,) = struct.unpack("<I", blob[4:8])
    return json.loads(blob[8 : 8 + length])
