export function playgroundPage(): string {
  return "<!doctype html><title>unclip</title>";
}
