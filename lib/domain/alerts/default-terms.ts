/**
 * The optional built-in blocked terms (`settings.moderation.useDefaultList`), Indonesian and
 * English profanity and insults that streamers most often block, on top of their own terms. Kept
 * short on purpose: common words that are also everyday vocabulary are left to the streamer.
 * Matching goes through lib/domain/moderation (case, accents, look-alike letters and digits folded,
 * whole words).
 */
export const DEFAULT_BLOCKED_TERMS: readonly string[] = [
	// Indonesian
	"anjing",
	"anjir",
	"asu",
	"babi",
	"bajingan",
	"bangsat",
	"brengsek",
	"goblok",
	"jancok",
	"jancuk",
	"kampret",
	"keparat",
	"kontol",
	"memek",
	"ngentot",
	"pantek",
	"tolol",
	"lonte",
	"pelacur",
	"perek",
	// English
	"asshole",
	"bastard",
	"bitch",
	"cunt",
	"dickhead",
	"fuck",
	"fucker",
	"fucking",
	"motherfucker",
	"shit",
	"slut",
	"whore",
	"retard",
];
