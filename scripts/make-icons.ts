/**
 * Renders the PNG icons in static/ from static/icon.svg, which stays the one source of the artwork.
 * Run after changing the SVG or the theme colour, and commit the PNGs: `npx tsx scripts/make-icons.ts`.
 *
 * Uses Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH); it never downloads a browser.
 * - icon-192.png, icon-512.png, favicon-32.png: the SVG as it is, transparent outside its rounded square.
 * - icon-maskable-512.png: full-bleed theme colour, the SVG scaled to the central 80 % (the maskable safe zone),
 *   so any mask shape the platform cuts keeps the artwork whole.
 * - apple-touch-icon.png (180): full-bleed theme colour, no transparency (iOS turns it black), the SVG at full size;
 *   iOS rounds the corners itself.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { chromium } from '@playwright/test';

const STATIC = new URL('../static/', import.meta.url);
const svg = readFileSync(new URL('icon.svg', STATIC), 'utf8');
const manifest = JSON.parse(readFileSync(new URL('manifest.webmanifest', STATIC), 'utf8')) as { theme_color: string };

interface Icon {
	file: string;
	size: number;
	/** Full-bleed background colour; none means transparent. */
	background?: string;
	/** Share of the canvas the SVG covers, centred. */
	scale: number;
}

const ICONS: Icon[] = [
	{ file: 'favicon-32.png', size: 32, scale: 1 },
	{ file: 'icon-192.png', size: 192, scale: 1 },
	{ file: 'icon-512.png', size: 512, scale: 1 },
	{ file: 'icon-maskable-512.png', size: 512, scale: 0.8, background: manifest.theme_color },
	{ file: 'apple-touch-icon.png', size: 180, scale: 1, background: manifest.theme_color }
];

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
	args: ['--no-sandbox', '--headless']
});
try {
	const page = await browser.newPage({ deviceScaleFactor: 1 });
	const source = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
	for (const icon of ICONS) {
		const side = icon.size * icon.scale;
		await page.setViewportSize({ width: icon.size, height: icon.size });
		await page.setContent(
			`<body style="margin:0;width:${icon.size}px;height:${icon.size}px;display:grid;place-items:center;` +
				`background:${icon.background ?? 'transparent'}">` +
				`<img src="${source}" style="width:${side}px;height:${side}px;display:block"></body>`
		);
		await page.locator('img').evaluate((img: HTMLImageElement) => img.decode());
		const png = await page.screenshot({ omitBackground: !icon.background, clip: { x: 0, y: 0, width: icon.size, height: icon.size } });
		writeFileSync(new URL(icon.file, STATIC), png);
		console.log(`static/${icon.file}: ${icon.size}×${icon.size}, ${png.length} bytes`);
	}
} finally {
	await browser.close();
}
