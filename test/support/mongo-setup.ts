import { afterAll } from "vitest";
import { createRequire } from "node:module";

/**
 * Vitest setup for the unit and integration projects: with MONGO_URI set, the same suites run
 * against MongoDB instead of in-memory NeDB. Each test file gets a database of its own (the URI's
 * database name plus a unique suffix), dropped when the file is done, so files running in
 * parallel never see each other's documents.
 *
 *   MONGO_URI=mongodb://127.0.0.1:27017/mediashar_test npm test
 */
const base = process.env.MONGO_URI;

if (base) {
	const url = new URL(base);
	const dbName = `${url.pathname.replace(/^\//, "") || "mediashar_test"}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
	url.pathname = `/${dbName}`;
	process.env.MONGO_URI = url.toString();
	process.env.DB_ADAPTER = "mongo";

	afterAll(async () => {
		// The driver moleculer-db-adapter-mongo brings (3.x).
		const { MongoClient } = createRequire(__filename)("mongodb") as { MongoClient: any };
		const mongo = new MongoClient(process.env.MONGO_URI, { useUnifiedTopology: true, serverSelectionTimeoutMS: 5000 });
		try {
			await mongo.connect();
			await mongo.db(dbName).dropDatabase();
		} finally {
			await mongo.close();
		}
	});
}
