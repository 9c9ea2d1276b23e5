import { defineConfig } from "vitest/config";

// Four projects: fast unit suites, the real gateway over HTTP/Socket.IO, multi-process clusters
// and browser tests. `npm test` runs the first two; CI runs all of them.
export default defineConfig({
	test: {
		projects: [
			// MONGO_URI or DATABASE_URL set → the same suites run against MongoDB or PostgreSQL, one database per
			// file (test/support/mongo-setup.ts, test/support/pg-setup.ts).
			{
				test: {
					name: "unit",
					include: ["test/unit/**/*.test.ts"],
					environment: "node",
					testTimeout: 15_000,
					env: { NODE_ENV: "test" },
					setupFiles: ["test/support/mongo-setup.ts", "test/support/pg-setup.ts"],
				},
			},
			{
				test: {
					name: "integration",
					include: ["test/integration/**/*.test.ts"],
					environment: "node",
					testTimeout: 30_000,
					hookTimeout: 30_000,
					env: { NODE_ENV: "test" },
					setupFiles: ["test/support/mongo-setup.ts", "test/support/pg-setup.ts"],
				},
			},
			{
				test: {
					name: "cluster",
					include: ["test/cluster/**/*.test.ts"],
					environment: "node",
					testTimeout: 180_000,
					hookTimeout: 120_000,
					fileParallelism: false,
					env: { NODE_ENV: "test" },
				},
			},
			{
				test: {
					name: "e2e",
					include: ["test/e2e/**/*.test.ts"],
					environment: "node",
					testTimeout: 120_000,
					hookTimeout: 120_000,
					fileParallelism: false,
					env: { NODE_ENV: "test" },
				},
			},
		],
	},
});
