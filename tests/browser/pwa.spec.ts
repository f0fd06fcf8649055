/**
 * Samen as an installable app: the manifest and its icons as the browser gets them, a welcome
 * screen that comes without the sync core, and a new version that is offered, never swapped in.
 */
import AxeBuilder from '@axe-core/playwright';
import { chromium, expect, test, type APIRequestContext, type Page, type Response } from '@playwright/test';
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../signaling/log';
import { startSignalingServer } from '../../signaling/server';
import { CHROMIUM_ARGS, launch, pageErrors } from './devices';

const BUILD = fileURLToPath(new URL('../../build', import.meta.url));

/** Width × height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(bytes: Buffer): string {
	expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'PNG signature').toBe(true);
	expect(bytes.subarray(12, 16).toString('latin1'), 'first chunk').toBe('IHDR');
	return `${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`;
}

interface ManifestImage {
	src: string;
	sizes: string;
	type: string;
	purpose?: string;
	form_factor?: string;
	label?: string;
}

/** An image as the server sends it: 200, the type the manifest states, and (a PNG) the stated size. */
async function expectServedImage(request: APIRequestContext, image: ManifestImage): Promise<void> {
	const reply = await request.get(image.src);
	expect(reply.status(), image.src).toBe(200);
	expect(reply.headers()['content-type'], image.src).toBe(image.type);
	if (image.type === 'image/png') expect(pngSize(await reply.body()), image.src).toBe(image.sizes);
	else expect((await reply.text()).trimStart().startsWith('<svg'), image.src).toBe(true);
}

test('the manifest and every icon and screenshot it names are served and valid, and Chromium finds the app installable', async ({ baseURL }) => {
	// A browser profile on disk: Chromium installs nothing from an incognito one.
	const profile = mkdtempSync(join(tmpdir(), 'samen-profile-'));
	const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, baseURL });
	try {
		const page = await context.newPage();
		await page.goto('/');
		await expect(page.getByTestId('create-account')).toBeVisible();

		// What the page links to, as served.
		const links = await page.evaluate(() =>
			Object.fromEntries([...document.querySelectorAll<HTMLLinkElement>('link[rel="manifest"], link[rel="apple-touch-icon"]')].map((link) => [link.rel, new URL(link.href).pathname]))
		);
		expect(links).toEqual({ manifest: '/manifest.webmanifest', 'apple-touch-icon': '/apple-touch-icon.png' });
		const touchIcon = await context.request.get(links['apple-touch-icon']!);
		expect(touchIcon.headers()['content-type']).toBe('image/png');
		expect(pngSize(await touchIcon.body())).toBe('180x180');

		const reply = await context.request.get(links.manifest!);
		expect(reply.status()).toBe(200);
		expect(reply.headers()['content-type']).toBe('application/manifest+json');
		const manifest = (await reply.json()) as Record<string, unknown> & { icons: ManifestImage[]; screenshots: ManifestImage[] };
		expect(manifest).toMatchObject({
			name: 'Samen',
			short_name: 'Samen',
			start_url: '/',
			scope: '/',
			display: 'standalone',
			theme_color: '#1f6f5c',
			background_color: '#ffffff'
		});
		const png = manifest.icons.filter((icon) => icon.type === 'image/png');
		const purposes = (icon: ManifestImage) => (icon.purpose ?? 'any').split(/\s+/);
		expect(png.filter((icon) => purposes(icon).includes('any')).map((icon) => icon.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
		expect(png.filter((icon) => purposes(icon).includes('maskable')).map((icon) => icon.sizes)).toContain('512x512');
		expect(manifest.screenshots.map((shot) => shot.form_factor).sort()).toEqual(['narrow', 'wide']);
		for (const shot of manifest.screenshots) {
			expect(shot.label, shot.src).toBeTruthy();
			const [width, height] = shot.sizes.split('x').map(Number) as [number, number];
			// Chromium's rules for install-dialogue screenshots: a narrow one is portrait, a wide one landscape.
			expect(shot.form_factor === 'wide' ? width > height : height > width, shot.src).toBe(true);
		}
		for (const image of [...manifest.icons, ...manifest.screenshots]) await expectServedImage(context.request, image);

		// A file that is not there is a 404, never the app page.
		for (const path of ['/favicon.ico', '/icon-1024.png', '/screenshots/missing.png']) {
			const missing = await context.request.get(path);
			expect(missing.status(), path).toBe(404);
			expect(await missing.text(), path).not.toContain('<html');
		}

		// The browser's own reading: the manifest parses without a complaint and nothing stops installation.
		const cdp = await context.newCDPSession(page);
		const parsed = (await cdp.send('Page.getAppManifest')) as { url: string; errors: { message: string }[] };
		expect(parsed.url).toBe(new URL('/manifest.webmanifest', baseURL).href);
		expect(parsed.errors.map((error) => error.message)).toEqual([]);
		const installability = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
		expect(installability.installabilityErrors.map((error) => error.errorId)).toEqual([]);
	} finally {
		await context.close();
		rmSync(profile, { recursive: true, force: true });
	}
});

/**
 * Text that only the sync core carries, whatever the chunks are called: Yjs's import guard,
 * simple-peer's error code, noble-ciphers' counter check, and the name of Samen's peer handshake.
 */
const CORE_MARKERS = ['__ $YJS$ __', 'ERR_DATA_CHANNEL', 'arx: counter overflow', 'Noise_XX_25519_ChaChaPoly_SHA256'];

/** The JavaScript a page itself loads (not its service worker), each file with the core markers it carries. */
function scriptsLoaded(page: Page): { scripts: { url: string; markers: string[] }[]; settled: () => Promise<unknown> } {
	const scripts: { url: string; markers: string[] }[] = [];
	const reading: Promise<void>[] = [];
	page.on('response', (response: Response) => {
		if (!response.url().endsWith('.js')) return;
		reading.push(
			response.text().then((text) => {
				scripts.push({ url: new URL(response.url()).pathname, markers: CORE_MARKERS.filter((marker) => text.includes(marker)) });
			})
		);
	});
	return { scripts, settled: () => Promise.all(reading) };
}

test('a first visit shows the welcome screen without downloading the sync core; choosing an account brings it', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const context = await browser.newContext({ baseURL });
		const page = await context.newPage();
		const errors = pageErrors(page);
		const { scripts, settled } = scriptsLoaded(page);
		await page.goto('/');
		await expect(page.getByTestId('create-account')).toBeVisible();
		await page.waitForLoadState('networkidle');
		await settled();
		expect(scripts.length).toBeGreaterThan(3);
		expect(scripts.filter((script) => script.markers.length > 0)).toEqual([]);

		// Create account: the form is there at once, and the core arrives while the user types.
		await page.getByTestId('create-account').click();
		await expect(page.getByTestId('account-name')).toBeVisible();
		await expect
			.poll(async () => {
				await settled();
				return scripts.flatMap((script) => script.markers).sort();
			})
			.toEqual([...CORE_MARKERS].sort());
		await page.getByTestId('account-name').fill('Ada');
		await page.getByTestId('create-submit').click();
		await expect(page.getByTestId('chat-list')).toBeVisible();
		expect(errors).toEqual([]);
	} finally {
		await browser.close();
	}
});

/**
 * Turns the copy of a build in `root` into the next build, as a deployment would: every hashed file
 * under a new name (the old ones gone), a new version for the service worker, and one visible change
 * (the create screen's heading).
 */
function nextBuild(root: string): void {
	const immutable = join(root, '_app', 'immutable');
	const renames: [string, string][] = [];
	for (const folder of readdirSync(immutable)) {
		for (const name of readdirSync(join(immutable, folder))) {
			const next = name.replace(/(\.[a-z]+)$/, 'n$1');
			renameSync(join(immutable, folder, name), join(immutable, folder, next));
			renames.push([name, next]);
		}
	}
	const version = (JSON.parse(readFileSync(join(root, '_app', 'version.json'), 'utf8')) as { version: string }).version;
	const textFiles = (folder: string): string[] =>
		readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
			entry.isDirectory() ? textFiles(join(folder, entry.name)) : /\.(js|css|html|json)$/.test(entry.name) ? [join(folder, entry.name)] : []
		);
	for (const file of textFiles(root)) {
		let text = readFileSync(file, 'utf8');
		for (const [name, next] of renames) text = text.replaceAll(`/${name}`, `/${next}`);
		text = text.replaceAll(version, `${version}1`).replaceAll('"Create your account"', '"Create your Samen account"');
		writeFileSync(file, text);
	}
}

test('a new version is offered with Update, never swapped in under the user; Update loads it', async () => {
	// A server of this test's own, serving a copy of the build that the test then replaces by the next one.
	const dir = mkdtempSync(join(tmpdir(), 'samen-update-'));
	const root = join(dir, 'build');
	cpSync(BUILD, root, { recursive: true });
	const port = Number(process.env.SAMEN_TEST_PORT ?? 4391) + 4;
	const server = await startSignalingServer({ port, host: '0.0.0.0', staticDir: root, log: silentLogger });
	const browser = await launch();
	try {
		const context = await browser.newContext({ baseURL: `http://localhost:${port}` });
		const page = await context.newPage();
		const errors = pageErrors(page);
		await page.clock.install();
		await page.goto('/create');
		await expect(page.getByRole('heading', { name: 'Create your account' })).toBeVisible();
		// The app is on the device: its first service worker controls the page.
		await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
		await page.getByTestId('account-name').fill('Ada');

		nextBuild(root);
		// An app left open looks for a new version once an hour.
		await page.clock.runFor(60 * 60_000);
		await expect(page.getByTestId('update-ready')).toContainText('A new version of Samen is ready.');
		const { violations } = await new AxeBuilder({ page }).analyze();
		expect(violations.map((violation) => violation.id)).toEqual([]);
		const button = await page.getByTestId('update-apply').boundingBox();
		expect(Math.min(button!.width, button!.height)).toBeGreaterThanOrEqual(44);

		// The user's page stays as it was, and the old version still finds its files (from the device).
		await expect(page.getByRole('heading', { name: 'Create your account' })).toBeVisible();
		await expect(page.getByTestId('account-name')).toHaveValue('Ada');
		await page.getByRole('link', { name: 'Samen', exact: true }).click();
		await page.getByTestId('link-account').click();
		await expect(page.getByRole('heading', { name: 'Link to existing account' })).toBeVisible();
		await page.goBack();
		await page.goBack();
		await expect(page.getByRole('heading', { name: 'Create your account' })).toBeVisible();
		await expect(page.getByTestId('update-ready')).toBeVisible();

		await page.getByTestId('update-apply').click();
		await expect(page.getByRole('heading', { name: 'Create your Samen account' })).toBeVisible();
		await expect(page.getByTestId('account-name')).toHaveValue('');
		await expect(page.getByTestId('update-ready')).toHaveCount(0);
		expect(errors).toEqual([]);
	} finally {
		await browser.close();
		await server.close();
		rmSync(dir, { recursive: true, force: true });
	}
});
