// GET /: the playground, a page that drives the API from the browser.
import { z } from "zod";
import { servedBundle } from "../bundle/index.ts";
import { endpoint } from "../http/endpoint.ts";
import { playgroundPage } from "../playground/page.ts";

export const playground = endpoint(
  "get",
  "/",
  {
    summary: "The playground (HTML)",
    responses: {
      200: { description: "The page", content: { "text/html": { schema: z.string() } } },
    },
  },
  (c) =>
    c.html(
      playgroundPage({
        sizes: servedBundle.sizes,
        bundleId: servedBundle.id,
        examplePrompts: servedBundle.manifest.example_prompts,
      }),
    ),
);
