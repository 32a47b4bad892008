"""unclip: a small DALL-E 2 (unCLIP) stack — CLIP, diffusion prior, decoder, upsampler — trained here."""
