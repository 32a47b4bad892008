// PNG checks on raw bytes, before anything decodes the image: the signature and the IHDR
// chunk (which the PNG spec requires to come first) give the dimensions.
import { ApiError } from "../errors.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Larger uploads could still be small files (a highly compressible PNG); refuse them here. */
export const MAX_VARIATION_SIDE = 4096;

export interface PngHeader {
  width: number;
  height: number;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= SIGNATURE.length && SIGNATURE.every((byte, i) => bytes[i] === byte);
}

/** Width and height from IHDR; throws a 400 naming `image` when the header is not usable. */
export function readPngHeader(bytes: Uint8Array, param = "image"): PngHeader {
  if (!isPng(bytes)) {
    // 400 as OpenAI answers it (not 415), so SDKs raise BadRequestError.
    throw new ApiError(
      400,
      `Invalid '${param}': must be a PNG file.`,
      param,
      "invalid_image_format",
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isIhdr =
    bytes.length >= 33 &&
    view.getUint32(8) === 13 &&
    String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]) === "IHDR";
  if (!isIhdr) {
    throw new ApiError(
      400,
      `Invalid '${param}': the PNG has no valid IHDR header.`,
      param,
      "invalid_image",
    );
  }
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width === 0 || height === 0) {
    throw new ApiError(
      400,
      `Invalid '${param}': the PNG declares a zero dimension.`,
      param,
      "invalid_image",
    );
  }
  if (width > MAX_VARIATION_SIDE || height > MAX_VARIATION_SIDE) {
    throw new ApiError(
      400,
      `Invalid '${param}': ${width}×${height} is too large; at most ${MAX_VARIATION_SIDE}×${MAX_VARIATION_SIDE}.`,
      param,
      "image_too_large",
    );
  }
  if (width !== height) {
    throw new ApiError(
      400,
      `Invalid '${param}': the image must be square (found ${width}×${height}).`,
      param,
      "invalid_image",
    );
  }
  return { width, height };
}
