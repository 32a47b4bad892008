// The production manifests read as data and held to what the runner and the edge expect:
// image, port, probes, GPU, drain timings, secrets, the autoscaling metric, routing.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { MAX_IMAGES_PER_REQUEST } from "@unclip/shared/api";
import { OPERATIONS } from "@unclip/shared/operation";
import { PROTOCOL_VERSIONS, poolPathOf } from "@unclip/shared/protocol";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { RunnerMetrics } from "../gpu-runner/src/metrics.ts";

const infraDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(infraDir);
const k8sDir = join(infraDir, "k8s");

const RUNNER_IMAGE = "ghcr.io/unclip-edge/gpu-runner";
const RUNNER_PORT = 8790;
const POOL_SECRET_NAME = "unclip-pool-secret";
/** The names the runner exports, read from its own metrics module (not from its source text). */
const runnerMetricNames = new RunnerMetrics({ defaultMetrics: false }).registry
  .getMetricsAsArray()
  .map((metric) => metric.name);
const QUEUE_DEPTH_METRIC = "unclip_queue_depth";
const SECRET_TEMPLATE = "pool-secret.template.yaml";

type Labels = Record<string, string>;
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Labels };
  spec?: unknown;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface HttpProbe {
  httpGet?: { path: string; port: string | number };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string> };
  readinessProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  startupProbe?: HttpProbe & { periodSeconds?: number; failureThreshold?: number };
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: unknown } };
  securityContext?: { allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean };
}
interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Labels };
  template: {
    metadata: { labels: Labels; annotations?: Labels };
    spec: {
      terminationGracePeriodSeconds?: number;
      nodeSelector?: Labels;
      tolerations?: { key?: string; operator?: string; effect?: string }[];
      securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
      containers: Container[];
    };
  };
}
interface ServiceSpec {
  selector: Labels;
  ports: { name?: string; port: number; targetPort: string | number }[];
}
interface IngressSpec {
  tls?: { hosts: string[]; secretName: string }[];
  rules: {
    host: string;
    http: {
      paths: {
        path: string;
        pathType: string;
        backend: { service: { name: string; port: { name?: string; number?: number } } };
      }[];
    };
  }[];
}
interface ScaledObjectSpec {
  scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
  minReplicaCount: number;
  maxReplicaCount: number;
  triggers: { type: string; metricType?: string; metadata: Record<string, string> }[];
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : yamlFilesUnder(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

/** Every document of a YAML file; a syntax error or a duplicate key fails the parse. */
function parseYamlFile(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, "utf8")).map((doc) => {
    const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
    if (problems.length > 0) {
      throw new Error(`${relative(repoRoot, path)}: ${problems.join("; ")}`);
    }
    return doc.toJS();
  });
}

const manifestFiles = yamlFilesUnder(infraDir);
const parsed = manifestFiles.map((path) => ({ path, documents: parseYamlFile(path) }));
const objects = parsed.flatMap(({ path, documents }) =>
  documents
    // Kubernetes objects only: kustomization.yaml has a kind but is read by kustomize.
    .filter(
      (doc): doc is K8sObject =>
        typeof doc === "object" && doc !== null && "kind" in doc && "metadata" in doc,
    )
    .map((object) => ({ path, object })),
);

function theOnly(kind: string): K8sObject {
  const found = objects.filter(({ object }) => object.kind === kind);
  if (found.length !== 1) {
    const where = found.map(({ path }) => relative(repoRoot, path)).join(", ") || "none";
    throw new Error(`expected exactly one ${kind} under infra/, found ${found.length}: ${where}`);
  }
  return found[0]!.object;
}

const deployment = theOnly("Deployment");
const deploymentSpec = deployment.spec as DeploymentSpec;
const podLabels = deploymentSpec.template.metadata.labels;
const runner = deploymentSpec.template.spec.containers.find((c) => c.name === "gpu-runner")!;
const envOf = (name: string) => runner.env?.find((e) => e.name === name);
const numericEnv = (name: string) => Number(envOf(name)?.value);

const kustomization = parseYamlFile(join(k8sDir, "kustomization.yaml"))[0] as {
  namespace: string;
  resources: string[];
  images: { name: string; newTag?: string }[];
};

/** Whether a selector picks pods carrying these labels (matchLabels semantics). */
function selects(selector: Labels, labels: Labels): boolean {
  const pairs = Object.entries(selector);
  return pairs.length > 0 && pairs.every(([key, value]) => labels[key] === value);
}

/** Resolves a probe's or Service's port (a name or a number) against the runner's ports. */
function containerPortFor(port: string | number): number | undefined {
  if (typeof port === "number") return port;
  return runner.ports?.find((p) => p.name === port)?.containerPort;
}

/** Kubernetes `Prefix` matching: whole path segments, a trailing slash ignored. */
function prefixMatches(prefix: string, path: string): boolean {
  const trimmed = prefix.replace(/\/+$/, "");
  return trimmed === "" || path === trimmed || path.startsWith(`${trimmed}/`);
}

describe("every manifest", () => {
  it("parses as YAML without errors, warnings or duplicate keys", () => {
    expect(manifestFiles.length).toBeGreaterThan(0);
    for (const { documents } of parsed) expect(documents.length).toBeGreaterThan(0);
  });

  it("is listed in kustomization.yaml, except the Secret template", () => {
    const inK8s = readdirSync(k8sDir).filter(
      (name) => /\.ya?ml$/.test(name) && name !== "kustomization.yaml",
    );
    expect([...kustomization.resources].sort()).toEqual(
      inK8s.filter((name) => name !== SECRET_TEMPLATE).sort(),
    );
    expect(kustomization.resources).not.toContain(SECRET_TEMPLATE);
  });

  it("lives in the namespace the Namespace object creates", () => {
    const namespace = theOnly("Namespace").metadata.name;
    expect(kustomization.namespace).toBe(namespace);
    for (const { path, object } of objects) {
      if (object.kind === "Namespace") continue;
      expect(object.metadata.namespace, `${relative(repoRoot, path)} ${object.kind}`).toBe(
        namespace,
      );
    }
  });

  it("inlines no pool secret: the env var comes from the Secret, and no Secret holds a value", () => {
    const poolSecretEnv = envOf("UNCLIP_POOL_SECRET");
    expect(poolSecretEnv?.value).toBeUndefined();
    expect(poolSecretEnv?.valueFrom?.secretKeyRef?.name).toBe(POOL_SECRET_NAME);

    // The previous secret of a rotation: the same Secret, a key that may be absent.
    const previousEnv = envOf("UNCLIP_POOL_SECRET_PREVIOUS");
    expect(previousEnv?.value).toBeUndefined();
    expect(previousEnv?.valueFrom?.secretKeyRef?.name).toBe(POOL_SECRET_NAME);
    expect(previousEnv?.valueFrom?.secretKeyRef?.optional).toBe(true);

    const template = theOnly("Secret");
    expect(template.metadata.name).toBe(POOL_SECRET_NAME);
    const key = poolSecretEnv?.valueFrom?.secretKeyRef?.key ?? "";
    const previousKey = previousEnv?.valueFrom?.secretKeyRef?.key ?? "";
    expect(Object.keys({ ...template.data, ...template.stringData })).toEqual([key, previousKey]);
    for (const value of Object.values({ ...template.data, ...template.stringData })) {
      expect(value, "the template must stay empty").toBe("");
    }

    // Any other spelling (a ConfigMap, an args list, a literal in an annotation) shows up here.
    for (const path of manifestFiles) {
      const text = readFileSync(path, "utf8");
      expect(text, relative(repoRoot, path)).not.toMatch(/UNCLIP_POOL_SECRET\s*[:=]\s*\S/);
    }
  });
});

describe("the runner Deployment", () => {
  it("runs the runner image at the tag kustomization.yaml pins, never :latest", () => {
    expect(runner.image).toBe(RUNNER_IMAGE);
    const pin = kustomization.images.find((image) => image.name === RUNNER_IMAGE);
    expect(pin?.newTag).toMatch(/^[\w][\w.-]{0,127}$/);
    expect(pin?.newTag).not.toBe("latest");
  });

  it("listens on the runner's port, and tells the runner and Prometheus the same port", () => {
    expect(containerPortFor("http")).toBe(RUNNER_PORT);
    expect(numericEnv("UNCLIP_PORT")).toBe(RUNNER_PORT);
    const annotations = deploymentSpec.template.metadata.annotations ?? {};
    expect(annotations["prometheus.io/scrape"]).toBe("true");
    expect(Number(annotations["prometheus.io/port"])).toBe(RUNNER_PORT);
    expect(annotations["prometheus.io/path"]).toBe("/metrics");
  });

  it("is ready on /readyz, alive on /healthz, and started only once the model is warm", () => {
    expect(runner.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(runner.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(runner.startupProbe?.httpGet?.path).toBe("/readyz");
    for (const probe of [runner.readinessProbe, runner.livenessProbe, runner.startupProbe]) {
      expect(containerPortFor(probe?.httpGet?.port ?? -1)).toBe(RUNNER_PORT);
    }
    const { periodSeconds = 10, failureThreshold = 3 } = runner.startupProbe ?? {};
    expect(periodSeconds * failureThreshold, "seconds allowed for model load").toBeGreaterThan(120);
  });

  it("takes one whole GPU and schedules onto GPU nodes", () => {
    expect(Number(runner.resources?.limits?.["nvidia.com/gpu"])).toBe(1);
    expect(runner.resources?.requests?.cpu).toBeDefined();
    expect(runner.resources?.requests?.memory).toBeDefined();
    const pod = deploymentSpec.template.spec;
    expect(Object.keys(pod.nodeSelector ?? {})).not.toHaveLength(0);
    expect(pod.tolerations?.map((t) => t.key)).toContain("nvidia.com/gpu");
  });

  it("drains every job it holds before the grace period runs out", () => {
    const jobTimeoutS = numericEnv("UNCLIP_JOB_TIMEOUT_MS") / 1000;
    const drainS = numericEnv("UNCLIP_DRAIN_TIMEOUT_MS") / 1000;
    const preStopS = runner.lifecycle?.preStop?.sleep?.seconds ?? Number.NaN;
    const graceS = deploymentSpec.template.spec.terminationGracePeriodSeconds ?? 30;
    expect(jobTimeoutS, "the ~60 s worst-case job fits its timeout").toBeGreaterThanOrEqual(60);
    expect(drainS, "a job held at SIGTERM ends before the drain does").toBeGreaterThanOrEqual(
      jobTimeoutS,
    );
    expect(preStopS).toBeGreaterThan(0);
    // The grace period counts from the start of preStop, so it has to cover both.
    expect(graceS).toBeGreaterThan(preStopS + drainS);
  });

  it("refuses to start without the pool secret instead of using the development one", () => {
    expect(envOf("NODE_ENV")?.value).toBe("production");
  });

  it("holds at least the largest job and batches at least one guided sample", () => {
    expect(numericEnv("UNCLIP_MAX_QUEUE")).toBeGreaterThanOrEqual(MAX_IMAGES_PER_REQUEST);
    // A guided sample is two rows (conditional + unconditional).
    expect(numericEnv("UNCLIP_MAX_BATCH")).toBeGreaterThanOrEqual(2);
  });

  it("runs as a non-root user that cannot escalate", () => {
    expect(deploymentSpec.template.spec.securityContext?.runAsNonRoot).toBe(true);
    expect(deploymentSpec.template.spec.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(runner.securityContext?.allowPrivilegeEscalation).toBe(false);
  });

  it("leaves the replica count to the autoscaler and selects its own pods", () => {
    expect(deploymentSpec.replicas).toBeUndefined();
    expect(selects(deploymentSpec.selector.matchLabels, podLabels)).toBe(true);
  });
});

describe("Service, Ingress and PodDisruptionBudget", () => {
  const service = theOnly("Service");
  const serviceSpec = service.spec as ServiceSpec;

  it("the Service selects the runner pods and forwards to the runner's port", () => {
    expect(selects(serviceSpec.selector, podLabels)).toBe(true);
    for (const port of serviceSpec.ports)
      expect(containerPortFor(port.targetPort)).toBe(RUNNER_PORT);
  });

  it("the PodDisruptionBudget selects the runner pods", () => {
    const pdb = theOnly("PodDisruptionBudget").spec as { selector: { matchLabels: Labels } };
    expect(selects(pdb.selector.matchLabels, podLabels)).toBe(true);
  });

  const ingressObject = theOnly("Ingress");
  const ingress = ingressObject.spec as IngressSpec;
  const routes = ingress.rules.flatMap((rule) => rule.http.paths);

  it("the Ingress serves every host over TLS, to the Service's port", () => {
    const tlsHosts = (ingress.tls ?? []).flatMap((tls) => tls.hosts);
    for (const rule of ingress.rules) expect(tlsHosts).toContain(rule.host);
    for (const route of routes) {
      expect(route.backend.service.name).toBe(service.metadata.name);
      const { name, number } = route.backend.service.port;
      expect(serviceSpec.ports.some((p) => p.name === name || p.port === number)).toBe(true);
    }
  });

  it("the Ingress routes every pool path of contract 3, in every protocol version a runner serves", () => {
    const poolPaths = PROTOCOL_VERSIONS.flatMap((version) =>
      OPERATIONS.map((operation) => poolPathOf(operation, version)),
    );
    for (const poolPath of poolPaths) {
      expect(
        routes.some((r) => r.pathType === "Prefix" && prefixMatches(r.path, poolPath)),
        poolPath,
      ).toBe(true);
    }
  });

  it("the Ingress waits out the runner's job timeout and takes a variations upload", () => {
    const annotations = ingressObject.metadata.annotations ?? {};
    const seconds = (value = "") => Number(/^(\d+)s?$/.exec(value)?.[1] ?? Number.NaN);
    const megabytes = (value = "") => Number(/^(\d+)m$/i.exec(value)?.[1] ?? Number.NaN);
    const jobTimeoutS = numericEnv("UNCLIP_JOB_TIMEOUT_MS") / 1000;
    expect(seconds(annotations["nginx.org/proxy-read-timeout"])).toBeGreaterThan(jobTimeoutS);
    // A 4 MB PNG, base64 inside JSON.
    expect(megabytes(annotations["nginx.org/client-max-body-size"])).toBeGreaterThan((4 * 4) / 3);
    expect(annotations["nginx.org/proxy-buffering"], "progress events stream").toBe("false");
  });

  it("the Ingress keeps /metrics, /healthz and /readyz off the internet", () => {
    for (const internal of ["/metrics", "/healthz", "/readyz"]) {
      expect(
        routes.some((r) => prefixMatches(r.path, internal)),
        internal,
      ).toBe(false);
    }
  });
});

describe("the KEDA ScaledObject", () => {
  const scaledObject = theOnly("ScaledObject");
  const spec = scaledObject.spec as ScaledObjectSpec;
  const trigger = spec.triggers.find((t) => t.type === "prometheus");
  const query = trigger?.metadata.query ?? "";

  it("scales the runner Deployment", () => {
    expect(spec.scaleTargetRef.kind ?? "Deployment").toBe("Deployment");
    expect(spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    expect(scaledObject.metadata.namespace).toBe(deployment.metadata.namespace);
  });

  it("queries Prometheus for exactly the runners' queue depth, summed over the pool", () => {
    expect(spec.triggers).toHaveLength(1);
    expect(query.match(/\bunclip_\w+/g)).toEqual([QUEUE_DEPTH_METRIC]);
    expect(query).toMatch(/^\s*sum\s*\(/);
    expect(trigger?.metricType ?? "AverageValue").toBe("AverageValue");
    expect(Number(trigger?.metadata.threshold)).toBeGreaterThan(0);
    expect(Number.isFinite(Number(trigger?.metadata.activationThreshold))).toBe(true);
  });

  it("never scales to zero, because only a running runner exports the metric", () => {
    expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(spec.maxReplicaCount).toBeGreaterThanOrEqual(spec.minReplicaCount);
  });

  it("asks for another runner before a runner starts refusing work", () => {
    expect(Number(trigger?.metadata.threshold)).toBeLessThan(numericEnv("UNCLIP_MAX_QUEUE"));
  });

  it("uses a metric name the runner actually exports", () => {
    expect(runnerMetricNames).toContain(QUEUE_DEPTH_METRIC);
    const named = query.match(/\bunclip_\w+/g) ?? [];
    expect(named.length, "the scaling query names a runner metric").toBeGreaterThan(0);
    for (const metric of named) expect(runnerMetricNames, metric).toContain(metric);
  });
});

describe("the Worker's wrangler configuration", () => {
  it("inlines POOL_SECRET and IMAGE_URL_SECRET in no deployed environment, and signs for no pool but a local one otherwise", async () => {
    const configPath = ["wrangler.toml", "wrangler.jsonc", "wrangler.json"]
      .map((name) => join(repoRoot, name))
      .find((path) => existsSync(path));
    if (!configPath) throw new Error("no wrangler.toml (or .jsonc/.json) at the repository root");

    // Wrangler's own reader, so TOML (or JSONC) is parsed exactly as `wrangler deploy` does.
    const { experimental_readRawConfig } = await import("wrangler");
    const { rawConfig } = experimental_readRawConfig({ config: configPath });
    const { env: environments = {}, ...topLevel } = rawConfig as {
      env?: Record<string, unknown>;
      vars?: Record<string, unknown>;
    };

    const secretKeysIn = (node: unknown, at: string): string[] =>
      typeof node !== "object" || node === null
        ? []
        : Object.entries(node).flatMap(([key, value]) => [
            ...(/^((UNCLIP_)?POOL_SECRET|IMAGE_URL_SECRET)(_PREVIOUS)?$/.test(key)
              ? [`${at}${key}`]
              : []),
            ...secretKeysIn(value, `${at}${key}.`),
          ]);

    // Named environments are what gets deployed: there the secret is a `wrangler secret`.
    expect(secretKeysIn(environments, "env."), basename(configPath!)).toEqual([]);
    for (const [name, environment] of Object.entries(environments)) {
      const poolUrls = String((environment as typeof topLevel).vars?.POOL_URL ?? "");
      for (const url of poolUrls.split(",").filter(Boolean)) {
        expect(url.trim(), `env.${name}.vars.POOL_URL: the Ingress is HTTPS only`).toMatch(
          /^https:\/\//,
        );
      }
    }

    // The top level is the local environment. A development default there is tolerated only
    // while every pool it can sign for is on the same machine.
    const topLevelSecrets = secretKeysIn(topLevel, "");
    if (topLevelSecrets.length > 0) {
      expect(
        topLevelSecrets.filter((at) => at !== "vars.POOL_SECRET" && at !== "vars.IMAGE_URL_SECRET"),
        "only as plain vars",
      ).toEqual([]);
      const localUrls = String(topLevel.vars?.POOL_URL ?? "").split(",");
      for (const url of localUrls) {
        expect(url.trim(), "POOL_URL beside an inlined POOL_SECRET").toMatch(
          /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/,
        );
      }
    }
  }, 30_000);
});
