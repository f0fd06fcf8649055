/**
 * How long the QR scanner takes to read what a phone camera sees, in Chromium with a fake camera:
 * a link QR whose symbol is 30 % of the frame height, turned 15°, 25° and 30°, on a noisy grey
 * background (tests/browser/y4m.ts), in 1280×720 and 640×480 frames.
 *
 * Per run, on the primary's Link a device screen: "camera → read" from the video playing to the code
 * read (the marks src/lib/ui/scanner.ts sets), and "tap → read" from the tap on Scan with camera.
 * The first run of each scene opens the screen in a fresh browser context (the QR reader's .wasm is
 * downloaded and compiled); the others reload the screen (compiled again from the cache).
 * Needs `npm run build` first. BENCH_SCANS sets the runs per scene (default 8).
 */
import { chromium, type Page } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import QRCode from 'qrcode';
import { silentLogger } from '../signaling/log';
import { startSignalingServer } from '../signaling/server';
import { CHROMIUM_ARGS } from '../tests/browser/devices';
import { cameraSceneY4m } from '../tests/browser/y4m';

const RUNS = Number(process.env.BENCH_SCANS ?? 8);
const staticDir = fileURLToPath(new URL('../build', import.meta.url));
const server = await startSignalingServer({ port: 0, host: '127.0.0.1', staticDir, log: silentLogger });
const url = `http://localhost:${server.port}`;

// A link as the new device shows it (92 characters of payload); its content does not change the time to read it.
const link = `${url}/settings/link#samen2.${'Zq3_x-9kLm'.repeat(10).slice(0, 92)}`;
const qr = await QRCode.toBuffer(link, { type: 'png', margin: 4, width: 352, errorCorrectionLevel: 'M' });

async function scan(page: Page): Promise<{ cameraMs: number; tapMs: number }> {
	await page.getByTestId('scan-qr').waitFor();
	await page.evaluate(() => {
		performance.clearMarks();
		performance.mark('bench-tap');
		(document.querySelector('[data-testid="scan-qr"]') as HTMLButtonElement).click();
	});
	await page.waitForFunction(() => performance.getEntriesByName('samen-scanner-decoded').length > 0, undefined, { timeout: 30_000 });
	// No helper function inside: tsx names functions with a helper that the page does not have.
	return page.evaluate(() => {
		const [tap, camera, decoded] = ['bench-tap', 'samen-scanner-camera', 'samen-scanner-decoded'].map((name) => performance.getEntriesByName(name)[0]!.startTime);
		return { cameraMs: decoded! - camera!, tapMs: decoded! - tap! };
	});
}

const summary = (values: number[]) => {
	const sorted = [...values].sort((a, b) => a - b);
	return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
};

console.log(`QR scanner, ${RUNS} runs per scene (first run: fresh context)`);
for (const [width, height] of [
	[1280, 720],
	[640, 480]
] as const) {
	for (const angle of [15, 25, 30]) {
		const file = join(mkdtempSync(join(tmpdir(), 'samen-bench-camera-')), 'qr.y4m');
		writeFileSync(file, cameraSceneY4m(qr, { width, height, symbolHeight: 0.3, angle }));
		const browser = await chromium.launch({
			executablePath: '/usr/bin/chromium',
			args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${file}`]
		});
		const page = await (await browser.newContext({ baseURL: url })).newPage();
		await page.goto('/');
		await page.getByTestId('create-account').click();
		await page.getByTestId('account-name').fill('Bench');
		await page.getByTestId('create-submit').click();
		await page.getByTestId('chat-self').waitFor();
		const camera: number[] = [];
		const tap: number[] = [];
		for (let run = 0; run < RUNS; run++) {
			await page.goto('/settings/link');
			const { cameraMs, tapMs } = await scan(page);
			camera.push(cameraMs);
			tap.push(tapMs);
		}
		console.log(
			`${width}×${height}, ${angle}°: camera → read ${summary(camera)}; tap → read ${summary(tap)}; first run ${camera[0]!.toFixed(0)} / ${tap[0]!.toFixed(0)} ms; all camera → read: ${camera.map((ms) => ms.toFixed(0)).join(', ')}`
		);
		await browser.close();
	}
}
await server.close();
