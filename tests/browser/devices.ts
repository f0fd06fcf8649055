/**
 * Each device in a browser test is its own browser context (its own IndexedDB), or its own browser
 * when it needs a camera of its own, launched from Debian's Chromium.
 */
import { chromium, expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pngToY4m } from './y4m';

/** How long a camera test lets the scanner take to read the QR code (see `confirmCodes`). */
export const CAMERA_READ_MS = 20_000;

/** What a browser without WebRTC says: across the top, and on each link screen. */
export const NO_WEBRTC = 'This browser cannot connect to your other devices (no WebRTC).';
export const CANNOT_JOIN = 'This browser cannot be linked to your account';
export const CANNOT_APPROVE = 'This browser cannot link devices';

export const CHROMIUM_ARGS = [
	'--no-sandbox',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--disable-features=WebRtcHideLocalIpsWithMdns'
];

export function launch(extraArgs: string[] = []): Promise<Browser> {
	return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** A Y4M file that shows a screenshot to a fake camera. */
export function cameraFile(screenshot: Buffer): string {
	const path = join(mkdtempSync(join(tmpdir(), 'samen-camera-')), 'qr.y4m');
	writeFileSync(path, pngToY4m(screenshot));
	return path;
}

/** A browser whose camera shows the given Y4M file, as a phone camera would show a screen. */
export function launchWithCamera(y4mPath: string): Promise<Browser> {
	return launch([
		'--use-fake-device-for-media-stream',
		'--use-fake-ui-for-media-stream',
		`--use-file-for-fake-video-capture=${y4mPath}`
	]);
}

export interface TestDevice {
	context: BrowserContext;
	page: Page;
}

export interface DeviceOptions {
	/** Installs Playwright's fake clock before the app loads (time still flows until moved). */
	clock?: boolean;
	userAgent?: string;
}

export async function openDevice(browser: Browser, baseURL: string, options: DeviceOptions = {}): Promise<TestDevice> {
	const context = await browser.newContext({ baseURL, permissions: ['clipboard-read', 'clipboard-write'], userAgent: options.userAgent });
	const page = await context.newPage();
	if (options.clock) await page.clock.install();
	await page.goto('/');
	return { context, page };
}

export async function createAccount(page: Page, name: string, deviceName: string): Promise<void> {
	await page.getByTestId('create-account').click();
	await page.getByTestId('account-name').fill(name);
	await page.getByTestId('device-name').fill(deviceName);
	await page.getByTestId('create-submit').click();
	await expect(page.getByTestId('chat-self')).toBeVisible();
}

/** Welcome → Link to existing account; keeps the suggested device name unless one is given. */
export async function showLinkCode(page: Page, deviceName?: string): Promise<string> {
	await page.getByTestId('link-account').click();
	if (deviceName !== undefined) await page.getByTestId('device-name').fill(deviceName);
	await expect(page.getByTestId('link-qr').locator('svg')).toBeVisible();
	return page.getByTestId('link-text').inputValue();
}

/** On the primary: Settings → Link a device → paste the link. */
export async function pasteLink(primary: Page, link: string): Promise<void> {
	await primary.getByTestId('open-settings').click();
	await primary.getByTestId('link-device').click();
	await primary.getByTestId('paste-link').fill(link);
	await primary.getByTestId('use-link').click();
}

/** Pastes the link on the primary, then both users compare the codes and confirm. */
export async function approveByPaste(primary: Page, newDevice: Page, link: string): Promise<void> {
	await pasteLink(primary, link);
	await confirmCodes(primary, newDevice);
}

/** On the primary: Settings → Link a device → Scan QR code, with a camera that sees the new device's QR. */
export async function approveByCamera(primary: Page, newDevice: Page): Promise<void> {
	await primary.getByTestId('open-settings').click();
	await primary.getByTestId('link-device').click();
	await primary.getByTestId('scan-qr').click();
	await confirmCodes(primary, newDevice, CAMERA_READ_MS);
}

/**
 * Both screens show the same code; each user says yes; the new device receives the account.
 * `codeWithinMs`: how long the primary may take to get to the code. Through the camera that is
 * html5-qrcode reading frames; when it reads the code at all, it does within a few seconds.
 */
export async function confirmCodes(primary: Page, newDevice: Page, codeWithinMs = 15_000): Promise<void> {
	const primaryCode = primary.getByTestId('link-code');
	await expect(primaryCode).toHaveText(/^\d{3} \d{3}$/, { timeout: codeWithinMs });
	await expect(newDevice.getByTestId('link-code')).toHaveText((await primaryCode.textContent())!);
	await expect(newDevice.getByText('Does your primary device show this code?')).toBeVisible();
	await newDevice.getByTestId('confirm-code').click();
	await expect(newDevice.getByTestId('waiting-primary')).toHaveText('Waiting for the primary…');
	await primary.getByTestId('confirm-link').click();
	await expect(primary.getByTestId('link-done')).toBeVisible();
	await expect(newDevice.getByTestId('chat-self')).toBeVisible();
}

/**
 * A primary ("Laptop" of the account "Ada") and a device for each of `names`, each in its own
 * browser context, linked to it one after the other by pasted link.
 */
export async function linkedDevices(browser: Browser, baseURL: string, names: string[]): Promise<TestDevice[]> {
	const primary = await openDevice(browser, baseURL);
	const others: TestDevice[] = [];
	for (let i = 0; i < names.length; i++) others.push(await openDevice(browser, baseURL));
	await createAccount(primary.page, 'Ada', 'Laptop');
	for (const [index, name] of names.entries()) await approveByPaste(primary.page, others[index]!.page, await showLinkCode(others[index]!.page, name));
	return [primary, ...others];
}

/** The IndexedDB databases this page's origin holds. */
export function databases(page: Page): Promise<string[]> {
	return page.evaluate(async () => (await indexedDB.databases()).map((database) => database.name ?? ''));
}

/** The logged-out screen with the reason the user reads, and nothing of the account left in storage. */
export async function expectLoggedOut(page: Page, reason: string): Promise<void> {
	await expect(page.getByTestId('logged-out')).toBeVisible();
	await expect(page.getByRole('heading', { level: 1 })).toHaveText('Logged out');
	await expect(page.getByTestId('logged-out-reason')).toHaveText(reason);
	expect(await databases(page)).toEqual([]);
}

export async function openSelfChat(page: Page): Promise<void> {
	await page.goto('/chat?id=self');
	await expect(page.getByTestId('composer')).toBeVisible();
}

export async function send(page: Page, text: string): Promise<void> {
	await page.getByTestId('composer').fill(text);
	await page.getByTestId('send').click();
	await expect(page.getByTestId('messages')).toContainText(text);
}

/** On the primary: Settings → the device's *Log out* → confirm. */
export async function removeDevice(primary: Page, name: string): Promise<void> {
	await primary.getByTestId('open-settings').click();
	const row = primary.getByTestId('device').filter({ has: primary.getByTestId('device-name').getByText(name, { exact: true }) });
	await row.getByTestId('remove-device').click();
	await expect(row.getByRole('alertdialog')).toContainText(`Log out “${name}”?`);
	await row.getByTestId('confirm-remove').click();
	await expect(primary.getByTestId('device-name').getByText(name, { exact: true })).toHaveCount(0);
}
