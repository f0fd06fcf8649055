/**
 * Each device in a browser test is its own browser context (its own IndexedDB), or its own browser
 * when it needs a camera of its own, launched from Debian's Chromium.
 */
import { chromium, expect, type Browser, type BrowserContext, type Page } from '@playwright/test';

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

export async function openDevice(browser: Browser, baseURL: string): Promise<TestDevice> {
	const context = await browser.newContext({ baseURL, permissions: ['clipboard-read', 'clipboard-write'] });
	const page = await context.newPage();
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

export async function showLinkCode(page: Page, deviceName: string): Promise<string> {
	await page.getByTestId('link-account').click();
	await page.getByTestId('device-name').fill(deviceName);
	await expect(page.getByTestId('link-qr').locator('svg')).toBeVisible();
	return page.getByTestId('link-text').inputValue();
}

/** On the primary: Settings → Link a device → paste the link, then compare codes and confirm. */
export async function approveByPaste(primary: Page, newDevice: Page, link: string): Promise<void> {
	await primary.getByTestId('open-settings').click();
	await primary.getByTestId('link-device').click();
	await primary.getByTestId('paste-link').fill(link);
	await primary.getByTestId('use-link').click();
	await confirmCodes(primary, newDevice);
}

export async function confirmCodes(primary: Page, newDevice: Page): Promise<void> {
	const primaryCode = primary.getByTestId('link-code');
	await expect(primaryCode).toHaveText(/^\d{3} \d{3}$/);
	await expect(newDevice.getByTestId('link-code')).toHaveText((await primaryCode.textContent())!);
	await primary.getByTestId('confirm-link').click();
	await expect(primary.getByTestId('link-done')).toBeVisible();
	await expect(newDevice.getByTestId('chat-self')).toBeVisible();
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
