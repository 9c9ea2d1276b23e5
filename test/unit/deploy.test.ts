import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { serviceFiles } from "../../lib/ops/service-files";

/**
 * The deployment files: docker-compose.yml parsed as YAML and checked against the services that
 * exist, the Dockerfile's stages and entry point. Where a `docker compose` (v2) or `docker-compose`
 * (v1) binary exists, its own `config` validation runs too.
 */
const ROOT = path.resolve(__dirname, "../..");
const require_ = createRequire(__filename);
// js-yaml ships with the dependency tree (@apidevtools/swagger-parser → json-schema-ref-parser).
const yaml = require_("js-yaml") as { load(text: string): unknown; loadAll(text: string): unknown[] };

type ComposeService = {
	image?: string;
	profiles?: string[];
	volumes?: string[];
	depends_on?: Record<string, { condition: string }>;
	build?: unknown;
	command?: string[];
	environment?: Record<string, string>;
	deploy?: { replicas?: number };
	ports?: string[];
	labels?: string[];
	container_name?: string;
	healthcheck?: unknown;
	stop_grace_period?: string;
};
const compose = yaml.load(fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8")) as {
	services: Record<string, ComposeService>;
	volumes: Record<string, unknown>;
};
const services = compose.services;
const nodes = Object.entries(services).filter(([, s]) => s.image === "mediashar:latest");
const serviceFileNames = [...serviceFiles(path.join(ROOT, "services")).keys()];

/** What moleculer-runner loads for one SERVICES entry: a context folder (every service in it) or `folder/name`. */
function expand(entry: string): string[] {
	const dir = path.join(ROOT, "services", entry);
	if (fs.existsSync(dir) && fs.statSync(dir).isDirectory()) return [...serviceFiles(dir).keys()];
	if (fs.existsSync(`${dir}.service.ts`)) return [path.basename(entry)];
	throw new Error(`SERVICES names "${entry}": neither a folder nor a service file under services/`);
}

describe("docker-compose.yml", () => {
	it("has NATS with JetStream, PostgreSQL, Redis and a load balancer in front of two gateways", () => {
		expect(services.nats.command).toContain("-js");
		expect(services.postgres.image).toMatch(/^postgres:/);
		// MongoDB only on request (`--profile mongo`).
		expect(services.mongo.image).toMatch(/^mongo:/);
		expect(services.mongo.profiles).toEqual(["mongo"]);
		expect(services.redis.image).toMatch(/^redis:/);
		expect(services.lb.ports).toEqual(["8080:80"]);
		const gw = services.gateway;
		expect(gw.environment?.SERVICES?.split(",").flatMap(expand)).toContain("api");
		expect(gw.deploy?.replicas).toBeGreaterThanOrEqual(2);
		expect(gw.labels).toContain("traefik.http.services.mediashar.loadbalancer.server.port=3000");
		// The load balancer sends traffic only to gateways that are ready (services started, NATS reachable).
		expect(gw.labels).toContain("traefik.http.services.mediashar.loadbalancer.healthcheck.path=/health/ready");
		expect(gw.environment?.TRUST_PROXY).toBe("true");
	});

	it("runs every service exactly once across the groups", () => {
		const listed = nodes.flatMap(([, s]) => (s.environment?.SERVICES ?? "").split(",").map((x) => x.trim())).flatMap(expand);
		expect(new Set(listed).size).toBe(listed.length);
		expect([...listed].sort()).toEqual([...serviceFileNames].sort());
	});

	it("keeps PostgreSQL on a volume and starts the nodes once pg_isready answers", () => {
		const pgSvc = services.postgres;
		expect(pgSvc.volumes).toContain("pg-data:/var/lib/postgresql/data");
		expect(compose.volumes).toHaveProperty("pg-data");
		expect((pgSvc.healthcheck as { test: string[] }).test).toEqual(expect.arrayContaining(["pg_isready"]));
		expect(pgSvc.environment?.POSTGRES_PASSWORD).toBe("${POSTGRES_PASSWORD:-}");
		for (const [name, s] of nodes) expect(s.depends_on?.postgres, name).toEqual({ condition: "service_healthy" });
		for (const [name, s] of nodes) expect(s.depends_on?.mongo, name).toBeUndefined();
	});

	it("points every node at the shared NATS, Redis and PostgreSQL and keeps them scalable", () => {
		for (const [name, s] of nodes) {
			const env = s.environment ?? {};
			expect(env.TRANSPORTER, name).toBe("nats://nats:4222");
			expect(env.CHANNELS_URL, name).toBe("nats://nats:4222");
			expect(env.REDIS_URL, name).toBe("redis://redis:6379");
			expect(env.CACHER, name).toBe("redis://redis:6379");
			expect(env.DATABASE_URL, name).toBe("postgres://mediashar:${POSTGRES_PASSWORD:-}@postgres:5432/mediashar");
			// Empty unless set for the mongo profile: then MongoDB wins over DATABASE_URL.
			expect(env.MONGO_URI, name).toBe("${MONGO_URI:-}");
			expect(env.NODE_ENV, name).toBe("production");
			expect(env.JWT_SECRET, name).toBe("${JWT_SECRET:-}");
			// --scale needs generated container names and no fixed host ports.
			expect(s.container_name, name).toBeUndefined();
			expect(s.ports, name).toBeUndefined();
			expect(s.build, name).toBe(".");
			expect(s.stop_grace_period, name).toBe("15s");
		}
		for (const name of ["donations", "payments", "alerts"]) expect(services[name].deploy?.replicas, name).toBe(2);
	});

	it("documents every variable it reads in docs/distributed.md", () => {
		const text = fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8");
		const doc = fs.readFileSync(path.join(ROOT, "docs/distributed.md"), "utf8");
		const vars = new Set([...text.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]));
		for (const v of vars) expect(doc, v).toContain(v);
	});

	it("passes `docker compose config` where a compose binary exists", () => {
		const v2 = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
		const v1 = spawnSync("docker-compose", ["version"], { encoding: "utf8" });
		const cmd = v2.status === 0 ? ["docker", "compose"] : v1.status === 0 ? ["docker-compose"] : null;
		if (!cmd) {
			console.warn("No docker compose binary here: structure checked above only.");
			return;
		}
		// As checked out, with no variable set: the file is valid (the nodes themselves refuse to
		// start without JWT_SECRET, naming it: test/integration/security-production.test.ts).
		const env = { ...process.env };
		delete env.JWT_SECRET;
		const out = execFileSync(cmd[0], [...cmd.slice(1), "config", "--services"], { cwd: ROOT, encoding: "utf8", env });
		expect(out.trim().split("\n").sort()).toEqual(Object.keys(services).sort());
		const quiet = spawnSync(cmd[0], [...cmd.slice(1), "config", "-q"], { cwd: ROOT, encoding: "utf8", env });
		expect(quiet.status, quiet.stderr).toBe(0);
	});
});

describe("Dockerfile", () => {
	const text = fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
	it("builds in stages and ships only the compiled code as an unprivileged user", () => {
		const stages = [...text.matchAll(/^FROM\s+\S+\s+AS\s+(\w+)/gim)].map((m) => m[1]);
		expect(stages).toEqual(["deps", "build", "runtime"]);
		expect(text).toMatch(/RUN npm ci/);
		expect(text).toMatch(/npm run build && npm prune --omit=dev/);
		expect(text).toMatch(/^USER node$/m);
		expect(text).toMatch(/SERVICEDIR=dist\/services/);
	});

	it("runs on the Node.js major that the project carries, and only on the base image's Node", () => {
		const carried = (
			JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
				devDependencies: Record<string, string>;
				dependencies: Record<string, string>;
			}
		).devDependencies.node;
		const bases = [...text.matchAll(/^FROM\s+(\S+)/gim)].map((m) => m[1]).filter((b) => !["deps", "build"].includes(b));
		expect(bases).toEqual([`node:${carried.split(".")[0]}-bookworm-slim`, `node:${carried.split(".")[0]}-bookworm-slim`]);
		// The `node` package fetches its binary in a preinstall script: the image's install skips
		// scripts, and the package (a dev dependency) is pruned before node_modules is copied.
		const installs = [...text.matchAll(/^RUN (npm (?:ci|install)\b.*)$/gm)].map((m) => m[1]);
		expect(installs.length).toBeGreaterThan(0);
		for (const cmd of installs) expect(cmd).toContain("--ignore-scripts");
		expect(text).toMatch(/npm prune --omit=dev[^\n]*\\\n\s*&& test ! -e node_modules\/node && test ! -e node_modules\/\.bin\/node/);
		expect(text).toMatch(/^COPY --from=build \/app\/node_modules \.\/node_modules$/m);
	});

	it("starts moleculer-runner with the compiled config that the build produces", () => {
		const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(text)![1]) as string[];
		expect(cmd).toEqual(["node", "node_modules/moleculer/bin/moleculer-runner.js", "--config", "dist/moleculer.config.js"]);
		const build = JSON.parse(fs.readFileSync(path.join(ROOT, "tsconfig.build.json"), "utf8"));
		expect(build.include).toContain("moleculer.config.ts");
		expect(build.include).toContain("services/**/*.ts");
		const outDir = JSON.parse(fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8")).compilerOptions.outDir;
		expect(outDir).toBe("dist");
	});
});

describe("k8s/mediashar.yaml", () => {
	const docs = yaml.loadAll(fs.readFileSync(path.join(ROOT, "k8s/mediashar.yaml"), "utf8")) as any[];
	const deployments = docs.filter((d) => d?.kind === "Deployment");
	const servicesOf = (d: any): string[] => {
		const env = d.spec.template.spec.containers[0].env as Array<{ name: string; value: string }>;
		return (env.find((e) => e.name === "SERVICES")?.value ?? "").split(",").map((x) => x.trim());
	};

	it("runs the same groups as docker-compose, every service exactly once", () => {
		const listed = deployments.flatMap(servicesOf).flatMap(expand);
		expect(new Set(listed).size).toBe(listed.length);
		expect([...listed].sort()).toEqual([...serviceFileNames].sort());
		const composeGroups = Object.fromEntries(nodes.map(([name, s]) => [name, s.environment?.SERVICES]));
		for (const d of deployments) expect(servicesOf(d).join(","), d.metadata.name).toBe(composeGroups[d.metadata.name]);
	});

	it("configures every node from the shared ConfigMap and Secret and shuts down gracefully", () => {
		const config = docs.find((d) => d?.kind === "ConfigMap");
		expect(config.data).toMatchObject({ TRANSPORTER: "nats://nats:4222", CHANNELS_URL: "nats://nats:4222", REDIS_URL: "redis://redis:6379" });
		// The database URL holds a password: it comes from the Secret, not the ConfigMap.
		expect(config.data.DATABASE_URL).toBeUndefined();
		expect(config.data.MONGO_URI).toBeUndefined();
		for (const d of deployments) {
			const pod = d.spec.template.spec;
			expect(pod.terminationGracePeriodSeconds, d.metadata.name).toBe(15);
			const from = pod.containers[0].envFrom.map((e: any) => e.configMapRef?.name ?? e.secretRef?.name);
			expect(from, d.metadata.name).toEqual(["mediashar-config", "mediashar-secrets"]);
			expect(d.spec.selector.matchLabels, d.metadata.name).toEqual(d.spec.template.metadata.labels);
		}
		const gw = deployments.find((d) => d.metadata.name === "gateway");
		expect(gw.spec.replicas).toBeGreaterThanOrEqual(2);
		expect(gw.spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe("/health/ready");
		const svc = docs.find((d) => d?.kind === "Service" && d.metadata.name === "gateway");
		expect(svc.spec.selector).toEqual(gw.spec.selector.matchLabels);
	});

	it("runs PostgreSQL as a StatefulSet with its own volume, ready when pg_isready answers", () => {
		const pgSet = docs.find((d) => d?.kind === "StatefulSet" && d.metadata.name === "postgres");
		const container = pgSet.spec.template.spec.containers[0];
		expect(container.image).toMatch(/^postgres:/);
		expect(container.readinessProbe.exec.command[0]).toBe("pg_isready");
		expect(container.env.find((e: any) => e.name === "POSTGRES_PASSWORD").valueFrom.secretKeyRef).toEqual({
			name: "mediashar-secrets",
			key: "POSTGRES_PASSWORD",
		});
		expect(pgSet.spec.volumeClaimTemplates[0].metadata.name).toBe(container.volumeMounts[0].name);
		const svc = docs.find((d) => d?.kind === "Service" && d.metadata.name === "postgres");
		expect(svc.spec.selector).toEqual(pgSet.spec.selector.matchLabels);
	});
});
