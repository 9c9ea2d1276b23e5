// Bundles the browser pages (web/ → public/build). Filled in with the pages.
process.exit(0);
