/** Parameter schemas (fastest-validator) the social actions share. */

export const ID = { type: "string", min: 1, max: 64 };
export const USERNAME = { type: "string", min: 1, max: 64 };

/** `limit` and `cursor` of every paged list. */
export const PAGE = {
	limit: { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true },
	cursor: { type: "string", max: 64, optional: true },
};

export interface PageParams {
	limit?: number;
	cursor?: string;
}
