/**
 * Usernames that name the system rather than a person: route segments (`/api/users/me`,
 * `/u/...`, `/overlay`...), roles and staff titles someone could impersonate, the product's own
 * name, and JavaScript's special keys (`__proto__`, `constructor`: harmless in our stores, but a
 * trap for any client that puts users in a plain object). Registration refuses them with 422
 * `USERNAME_RESERVED`; so does any name starting with two underscores. Compared lower-cased, as
 * usernames are stored. Accounts that already hold one of these names keep it.
 */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
	// JavaScript values and object keys
	"__proto__", "constructor", "prototype", "hasownproperty", "tostring", "valueof", "null", "undefined", "nan", "true", "false", "object",
	// routes and pages
	"api", "me", "auth", "login", "logout", "register", "signup", "signin", "overlay", "overlays", "dashboard", "explore", "health", "metrics",
	"pay", "checkout", "donate", "donations", "u", "users", "user", "chat", "channels", "channel", "posts", "comments", "likes", "media",
	"notifications", "inbox", "conversations", "settings", "search", "docs", "openapi", "webhook", "webhooks", "sandbox", "static", "public",
	"build", "assets", "status", "about", "terms", "privacy", "security", "billing", "payments", "www", "mail", "email",
	// roles and the house
	"admin", "administrator", "admins", "root", "system", "sysadmin", "moderator", "moderators", "mod", "mods", "staff", "support", "help",
	"official", "team", "mediashar", "anonymous", "everyone", "here", "nobody",
]);

export function isReservedUsername(username: string): boolean {
	const u = username.toLowerCase();
	return RESERVED_USERNAMES.has(u) || u.startsWith("__");
}
