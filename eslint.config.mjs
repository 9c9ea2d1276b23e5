import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import prettier from "eslint-config-prettier";

export default tseslint.config(
	{ ignores: ["dist/**", "node_modules/**", "data/**", "coverage/**", "test-output/**", "public/build/**", "bench/results/**"] },
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		languageOptions: { globals: { ...globals.node } },
		rules: {
			"@typescript-eslint/no-explicit-any": "warn",
			"@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
			"no-console": "off",
		},
	},
	// Tests, benchmarks and scripts poke at internals on purpose; the product code keeps its types.
	{ files: ["test/**", "bench/**", "scripts/**"], rules: { "@typescript-eslint/no-explicit-any": "off" } },
	prettier,
	{ files: ["public/**/*.{js,ts,mjs}"], languageOptions: { globals: { ...globals.browser } } },
);
