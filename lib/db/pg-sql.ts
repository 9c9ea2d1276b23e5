/**
 * Mongo-style queries, sorts and updates → PostgreSQL over `doc jsonb` (one table per collection,
 * `_id text COLLATE "C"` beside the document). Only what MediaShar's services use is translated,
 * with NeDB's matching rules (the embedded default, and what the comparison test checks against);
 * anything else is refused with an error naming the operator, never matched loosely.
 *
 * - Equality on a scalar is containment (`${col}doc @> {"f": v}`, or `{"f": [v]}` for an array that
 *   holds v, as NeDB and MongoDB match arrays), answered by the table's GIN index. On a field of
 *   the collection's declared indexes that never holds an array (`scalars`), an equality is a btree
 *   comparison instead: of the jsonb value (`(doc #> '{f}') = v`, exact in type) where the field
 *   has a plain index, which is built on `((doc #> '{f}'), _id)` and so also answers "newest
 *   first"; of the text (string values, with a type test) where its index is unique or compound.
 * - Negations (`$ne`, `$nin`, `$not`) are `IS NOT TRUE`: a condition that is NULL because the
 *   field is missing counts as not matching, so its negation matches, as in NeDB.
 * - Ranges compare like with like, as NeDB does: numbers as numeric, strings byte-wise
 *   (`COLLATE "C"`, the order JavaScript and NeDB use); a value of another type never matches.
 * - `{f: null}` matches an explicit null only (NeDB), `$exists` asks whether the path is there.
 * - Updates become one call of `mediashar_apply(doc, update)`, a function the first migration
 *   creates (lib/db/postgres.ts), so a conditional update is a single UPDATE … WHERE statement.
 */

export class UnsupportedQueryError extends Error {
	constructor(what: string) {
		super(`The PostgreSQL store cannot translate ${what}`);
		this.name = "UnsupportedQueryError";
	}
}

type Doc = Record<string, unknown>;

/** Collects positional parameters ($1, $2, …) for one statement. */
export class Params {
	readonly values: unknown[] = [];
	add(v: unknown): string {
		this.values.push(v);
		return `$${this.values.length}`;
	}
}

// Letters, digits, "_" and "-" (ids are used as keys, e.g. `reads.<userId>`): nothing a text[] literal must quote.
const FIELD = /^[A-Za-z0-9_$-]{1,100}$/;

function pathOf(key: string): string[] {
	const parts = key.split(".");
	for (const p of parts) if (!FIELD.test(p) || p.startsWith("$")) throw new UnsupportedQueryError(`the field name "${key}"`);
	return parts;
}

/**
 * The table qualifier of the columns the translation names (`doc`, `_id`): empty, except while
 * `where()` builds the condition of an upsert's ON CONFLICT clause, where `excluded` makes bare
 * names ambiguous. Set and reset synchronously inside `where()`.
 */
let col = "";

/** SQL literal for a text[] path (field names are checked against FIELD, so no quoting issue). */
function pathLit(parts: string[]): string {
	return `'{${parts.join(",")}}'`;
}

/** The jsonb value at a path. */
export function jsonAt(key: string): string {
	return `(${col}doc #> ${pathLit(pathOf(key))})`;
}
/** The text of a path, byte-ordered: the expression the btree indexes are built on. */
export function textAt(key: string): string {
	return `((${col}doc #>> ${pathLit(pathOf(key))}) COLLATE "C")`;
}

function isPlainObject(v: unknown): v is Doc {
	return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof RegExp);
}

function isScalar(v: unknown): boolean {
	return v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v instanceof Date;
}

/** What a value becomes in the stored document (Dates are kept as their ISO string). */
function jsonValue(v: unknown): unknown {
	return v instanceof Date ? v.toISOString() : v;
}

/** `{a: {b: v}}` for the path a.b. */
function nest(parts: string[], v: unknown): Doc {
	let out: unknown = v;
	for (let i = parts.length - 1; i >= 0; i--) out = { [parts[i]]: out };
	return out as Doc;
}

/** Fields known never to hold an array (declared indexes), with the btree their equalities use. */
export type ScalarIndex = "json" | "text";
type Scalars = ReadonlyMap<string, ScalarIndex> | undefined;

function equals(key: string, value: unknown, p: Params, scalars: Scalars): string {
	if (key === "_id") {
		if (typeof value !== "string") return "false";
		return `${col}_id = ${p.add(value)}`;
	}
	if (value instanceof RegExp) return regex(key, value, p);
	if (!isScalar(value)) throw new UnsupportedQueryError(`an equality on "${key}" with a ${Array.isArray(value) ? "array" : "object"} value`);
	const parts = pathOf(key);
	const v = jsonValue(value);
	// The text expression the btree index is built on; the type test keeps 5 from matching "5".
	const btree = scalars?.get(key);
	if (btree === "json" && v !== null) return `${jsonAt(key)} = ${p.add(JSON.stringify(v))}::jsonb`;
	if (btree === "text" && typeof v === "string") return `(${textAt(key)} = ${p.add(v)} AND jsonb_typeof(${jsonAt(key)}) = 'string')`;
	const plain = `${col}doc @> ${p.add(JSON.stringify(nest(parts, v)))}::jsonb`;
	// null is not an element NeDB matches inside arrays the way it matches scalars; keep it exact.
	if (v === null) return plain;
	return `(${plain} OR ${col}doc @> ${p.add(JSON.stringify(nest(parts, [v])))}::jsonb)`;
}

function regex(key: string, re: RegExp, p: Params): string {
	if (re.flags.replace("i", "") !== "") throw new UnsupportedQueryError(`the regular expression flags "${re.flags}" on "${key}"`);
	// JavaScript and PostgreSQL (ARE) agree on the anchors, classes and escapes the services use
	// (an escaped prefix search); lookarounds and backreferences they do not share are refused.
	if (/\(\?[=!<]|\\[1-9]|\\[dDsSwWbB]/.test(re.source)) throw new UnsupportedQueryError(`the regular expression /${re.source}/ on "${key}"`);
	const op = re.flags.includes("i") ? "~*" : "~";
	const target = key === "_id" ? `${col}_id` : textAt(key);
	const typed = key === "_id" ? "true" : `jsonb_typeof(${jsonAt(key)}) = 'string'`;
	return `(${typed} AND ${target} ${op} ${p.add(re.source)})`;
}

const RANGE: Record<string, string> = { $lt: "<", $lte: "<=", $gt: ">", $gte: ">=" };

function range(key: string, op: string, value: unknown, p: Params): string {
	const sqlOp = RANGE[op];
	const v = jsonValue(value);
	if (key === "_id") {
		if (typeof v !== "string") return "false";
		return `${col}_id ${sqlOp} ${p.add(v)}`;
	}
	// CASE, not AND: SQL does not promise to test the type before it casts.
	if (typeof v === "number") return `(CASE WHEN jsonb_typeof(${jsonAt(key)}) = 'number' THEN (${jsonAt(key)})::numeric END) ${sqlOp} ${p.add(v)}::numeric`;
	if (typeof v === "string") return `(jsonb_typeof(${jsonAt(key)}) = 'string' AND ${textAt(key)} ${sqlOp} ${p.add(v)})`;
	throw new UnsupportedQueryError(`${op} on "${key}" with a ${v === null ? "null" : typeof v} value`);
}

function exists(key: string, want: unknown): string {
	if (key === "_id") return want ? "true" : "false";
	return want ? `(${jsonAt(key)} IS NOT NULL)` : `(${jsonAt(key)} IS NULL)`;
}

function fieldCondition(key: string, cond: unknown, p: Params, scalars: Scalars): string {
	if (!isPlainObject(cond)) return equals(key, cond, p, scalars);
	const ops = Object.keys(cond);
	if (ops.length === 0 || !ops.every((o) => o.startsWith("$"))) throw new UnsupportedQueryError(`an equality on "${key}" with an object value`);
	const parts: string[] = [];
	for (const op of ops) {
		const v = cond[op];
		if (op in RANGE) parts.push(range(key, op, v, p));
		else if (op === "$ne") parts.push(`(${equals(key, v, p, scalars)}) IS NOT TRUE`);
		else if (op === "$in" || op === "$nin") {
			if (!Array.isArray(v)) throw new UnsupportedQueryError(`${op} on "${key}" without an array`);
			let any: string;
			if (key === "_id") any = `${col}_id = ANY(${p.add(v.filter((x) => typeof x === "string"))}::text[])`;
			else any = v.length === 0 ? "false" : `(${v.map((x) => equals(key, x, p, scalars)).join(" OR ")})`;
			parts.push(op === "$in" ? any : `(${any}) IS NOT TRUE`);
		} else if (op === "$exists") parts.push(exists(key, v));
		else if (op === "$regex") {
			if (!(v instanceof RegExp) && typeof v !== "string") throw new UnsupportedQueryError(`$regex on "${key}" without a pattern`);
			parts.push(regex(key, v instanceof RegExp ? v : new RegExp(v), p));
		} else throw new UnsupportedQueryError(`the query operator ${op} (on "${key}")`);
	}
	return parts.length === 1 ? parts[0] : `(${parts.join(" AND ")})`;
}

/**
 * A WHERE condition for a Mongo-style query (`true` for an empty one). `scalars`: the fields of
 * the collection's indexes that never hold arrays (see the header).
 */
export function where(query: Doc | undefined, p: Params, qualifier?: string, scalars?: Scalars): string {
	if (qualifier !== undefined) {
		const outer = col;
		col = `${qualifier}.`;
		try {
			return where(query, p, undefined, scalars);
		} finally {
			col = outer;
		}
	}
	if (!query) return "true";
	const parts: string[] = [];
	for (const [key, cond] of Object.entries(query)) {
		if (cond === undefined) continue;
		if (key === "$or" || key === "$and") {
			if (!Array.isArray(cond) || cond.length === 0) throw new UnsupportedQueryError(`${key} without a list of queries`);
			const subs = cond.map((q) => where(q as Doc, p, undefined, scalars));
			parts.push(`(${subs.join(key === "$or" ? " OR " : " AND ")})`);
		} else if (key === "$not") {
			parts.push(`(${where(cond as Doc, p, undefined, scalars)}) IS NOT TRUE`);
		} else if (key.startsWith("$")) {
			throw new UnsupportedQueryError(`the query operator ${key}`);
		} else parts.push(fieldCondition(key, cond, p, scalars));
	}
	return parts.length ? parts.join(" AND ") : "true";
}

/** The one type every value the query lets through has at `key`, when the query says so. */
function constrainedType(query: Doc | undefined, key: string): "string" | "number" | null {
	const cond = query?.[key];
	const typeOf = (v: unknown) => (typeof v === "string" || v instanceof Date ? "string" : typeof v === "number" ? "number" : null);
	if (cond === undefined) return null;
	if (!isPlainObject(cond)) return typeOf(cond);
	for (const op of ["$lt", "$lte", "$gt", "$gte"]) if (op in cond) return typeOf(cond[op]);
	return null;
}

/**
 * ORDER BY for moleculer-db sort fields ("a", "-b"). NeDB orders mixed types as missing < null <
 * numbers < strings < booleans < arrays < objects; when the query already limits the field to
 * strings (or numbers) the plain text (numeric) expression is used, which an index can answer.
 */
export function orderBy(sort: string[] | string | undefined, query: Doc | undefined): string {
	const fields = sort ? (Array.isArray(sort) ? sort : [sort]) : [];
	const out: string[] = [];
	for (const f of fields) {
		const desc = f.startsWith("-");
		const key = desc ? f.slice(1) : f;
		const dir = desc ? "DESC" : "ASC";
		if (key === "_id") {
			out.push(`_id ${dir}`);
			continue;
		}
		const kind = constrainedType(query, key);
		if (kind === "string") out.push(`${textAt(key)} ${dir}`);
		else if (kind === "number") out.push(`(CASE WHEN jsonb_typeof(${jsonAt(key)}) = 'number' THEN (${jsonAt(key)})::numeric END) ${dir}`);
		else {
			const j = jsonAt(key);
			out.push(
				`(CASE jsonb_typeof(${j}) WHEN 'null' THEN 1 WHEN 'number' THEN 2 WHEN 'string' THEN 3 WHEN 'boolean' THEN 4 WHEN 'array' THEN 6 WHEN 'object' THEN 7 ELSE 0 END) ${dir}`,
				`(CASE WHEN jsonb_typeof(${j}) = 'number' THEN (${j})::numeric END) ${dir}`,
				`(CASE WHEN jsonb_typeof(${j}) <> 'number' THEN ${textAt(key)} END) ${dir}`,
			);
		}
	}
	return out.length ? ` ORDER BY ${out.join(", ")}` : "";
}

const UPDATE_OPS = new Set(["$set", "$unset", "$inc", "$push", "$addToSet", "$pull"]);

/**
 * Checks an update against what `mediashar_apply` implements and returns it as the JSON it
 * receives (Dates as ISO strings). A replacement document or another operator is refused.
 */
export function updateJson(update: Doc): string {
	const keys = Object.keys(update);
	if (keys.length === 0) throw new UnsupportedQueryError("an empty update");
	for (const op of keys) {
		if (!UPDATE_OPS.has(op)) throw new UnsupportedQueryError(op.startsWith("$") ? `the update operator ${op}` : "a replacement document (use $set)");
		const args = update[op];
		if (!isPlainObject(args)) throw new UnsupportedQueryError(`${op} without an object of fields`);
		for (const [key, v] of Object.entries(args)) {
			if (key === "_id") throw new UnsupportedQueryError(`${op} on _id`);
			pathOf(key);
			if (op === "$inc" && typeof v !== "number") throw new UnsupportedQueryError(`$inc on "${key}" by a ${typeof v}`);
			// $pull takes a value, or a condition of field equalities on the array's objects ({id: x}).
			if (
				op === "$pull" &&
				!isScalar(v) &&
				!(isPlainObject(v) && Object.keys(v).length > 0 && Object.entries(v).every(([f, x]) => !f.startsWith("$") && isScalar(x)))
			) {
				throw new UnsupportedQueryError(`$pull on "${key}" with a condition other than field equalities`);
			}
			if ((op === "$push" || op === "$addToSet") && isPlainObject(v) && Object.keys(v).some((k) => k.startsWith("$"))) {
				for (const mod of Object.keys(v)) {
					if (mod !== "$each" && !(op === "$push" && mod === "$slice")) throw new UnsupportedQueryError(`${op} with ${mod} on "${key}"`);
				}
				if (!Array.isArray(v.$each)) throw new UnsupportedQueryError(`${op} on "${key}" with $each that is not an array`);
				if ("$slice" in v && !Number.isInteger(v.$slice)) throw new UnsupportedQueryError(`$slice on "${key}" that is not an integer`);
			}
		}
	}
	return JSON.stringify(update, (_k, v) => (v instanceof Date ? v.toISOString() : v));
}

/**
 * The document an upsert inserts when nothing matched: the query's equality fields (and _id).
 * Operator conditions (`{mark: {$exists: false}}`) only constrain the match, as in NeDB and
 * MongoDB; `conditional` says whether the query has more than `_id` to match.
 */
export function upsertBase(query: Doc): { id: string; doc: Doc; conditional: boolean } {
	const id = query._id;
	if (typeof id !== "string") throw new UnsupportedQueryError("an upsert whose query has no string _id");
	const doc: Doc = {};
	let conditional = false;
	for (const [key, v] of Object.entries(query)) {
		if (key !== "_id") conditional = true;
		if (isPlainObject(v) && Object.keys(v).length > 0 && Object.keys(v).every((k) => k.startsWith("$"))) continue;
		if (!isScalar(v) || key.includes("."))
			throw new UnsupportedQueryError(`an upsert query with a condition on "${key}" (only equalities on top-level fields, or operators)`);
		doc[key] = jsonValue(v);
	}
	return { id, doc, conditional };
}

/** The PL/pgSQL behind every update (created by the first migration). */
export const APPLY_FUNCTIONS = `
CREATE OR REPLACE FUNCTION mediashar_set_path(d jsonb, p text[], v jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE i int;
BEGIN
	FOR i IN 1 .. coalesce(array_length(p, 1), 0) - 1 LOOP
		IF jsonb_typeof(d #> p[1:i]) IS DISTINCT FROM 'object' THEN
			d := jsonb_set(d, p[1:i], '{}'::jsonb, true);
		END IF;
	END LOOP;
	RETURN jsonb_set(d, p, v, true);
END
$fn$;

CREATE OR REPLACE FUNCTION mediashar_apply(d jsonb, u jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
	op text; args jsonb; k text; v jsonb; p text[]; cur jsonb; items jsonb; el jsonb; n int;
BEGIN
	FOR op, args IN SELECT key, value FROM jsonb_each(u) LOOP
		FOR k, v IN SELECT key, value FROM jsonb_each(args) LOOP
			p := string_to_array(k, '.');
			IF op = '$set' THEN
				d := mediashar_set_path(d, p, v);
			ELSIF op = '$unset' THEN
				d := d #- p;
			ELSIF op = '$inc' THEN
				IF d #> p IS NOT NULL AND jsonb_typeof(d #> p) <> 'number' THEN
					RAISE EXCEPTION 'Cannot $inc the non-number field %', k USING ERRCODE = '22023';
				END IF;
				d := mediashar_set_path(d, p, to_jsonb(coalesce((d #> p)::numeric, 0) + v::numeric));
			ELSIF op IN ('$push', '$addToSet', '$pull') THEN
				cur := coalesce(d #> p, '[]'::jsonb);
				IF jsonb_typeof(cur) <> 'array' THEN
					RAISE EXCEPTION 'Cannot % to the non-array field %', op, k USING ERRCODE = '22023';
				END IF;
				IF jsonb_typeof(v) = 'object' AND v ? '$each' THEN items := v -> '$each'; ELSE items := jsonb_build_array(v); END IF;
				IF op = '$push' THEN
					cur := cur || items;
					IF jsonb_typeof(v) = 'object' AND v ? '$slice' THEN
						n := (v ->> '$slice')::int;
						SELECT coalesce(jsonb_agg(e ORDER BY i), '[]'::jsonb) INTO cur FROM jsonb_array_elements(cur) WITH ORDINALITY AS t(e, i)
						WHERE CASE WHEN n < 0 THEN i > jsonb_array_length(cur) + n ELSE i <= n END;
					END IF;
				ELSIF op = '$addToSet' THEN
					FOR el IN SELECT value FROM jsonb_array_elements(items) LOOP
						IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(cur) AS x(e) WHERE x.e = el) THEN
							cur := cur || jsonb_build_array(el);
						END IF;
					END LOOP;
				ELSIF jsonb_typeof(v) = 'object' THEN
					-- A condition of field equalities: drop the objects that have them all.
					SELECT coalesce(jsonb_agg(e ORDER BY i), '[]'::jsonb) INTO cur FROM jsonb_array_elements(cur) WITH ORDINALITY AS t(e, i) WHERE NOT (jsonb_typeof(e) = 'object' AND e @> v);
				ELSE
					SELECT coalesce(jsonb_agg(e ORDER BY i), '[]'::jsonb) INTO cur FROM jsonb_array_elements(cur) WITH ORDINALITY AS t(e, i) WHERE e <> v;
				END IF;
				d := mediashar_set_path(d, p, cur);
			END IF;
		END LOOP;
	END LOOP;
	RETURN d;
END
$fn$;
`;
