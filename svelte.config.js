import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
	preprocess: vitePreprocess(),
	kit: {
		// A single-page app: every route renders in the browser, the server only hands out files.
		// A benchmark build (VITE_SAMEN_BENCH=1, bench/browser-history.ts) goes beside the app, never over it.
		adapter: process.env.VITE_SAMEN_BENCH
			? adapter({ pages: 'build-bench', assets: 'build-bench', fallback: 'index.html' })
			: adapter({ fallback: 'index.html' })
	}
};
