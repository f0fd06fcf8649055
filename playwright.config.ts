import { defineConfig } from '@playwright/test';

export const PORT = Number(process.env.SAMEN_TEST_PORT ?? 4391);

export default defineConfig({
	testDir: 'tests/browser',
	timeout: 90_000,
	expect: { timeout: 15_000 },
	fullyParallel: false,
	workers: 1,
	retries: 0,
	reporter: [['list']],
	use: {
		baseURL: `http://localhost:${PORT}`,
		trace: 'retain-on-failure'
	},
	webServer: {
		command: `tsx signaling/main.ts`,
		env: { PORT: String(PORT), HOST: '0.0.0.0' },
		url: `http://localhost:${PORT}/healthz`,
		reuseExistingServer: false,
		stdout: 'ignore'
	}
});
