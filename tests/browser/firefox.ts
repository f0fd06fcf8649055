/**
 * A device in Debian's Firefox ESR, driven by puppeteer-core over WebDriver BiDi (Playwright's
 * Firefox is a patched build it would have to download; the Debian one it cannot drive). The
 * helpers wait for what a user would see, as Playwright's `expect` does for the Chromium devices.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const FIREFOX = '/usr/bin/firefox-esr';
const WAIT_MS = 15_000;

export function launchFirefox(): Promise<Browser> {
	return puppeteer.launch({
		browser: 'firefox',
		executablePath: FIREFOX,
		headless: true
	});
}

export async function openFirefoxDevice(browser: Browser, baseURL: string): Promise<Page> {
	const page = await browser.newPage();
	await page.goto(baseURL);
	return page;
}

function byTestId(id: string): string {
	return `[data-testid="${id}"]`;
}

/** Waits until the element `testid` shows `text` (as part of its text), and returns all its text. */
export async function seeText(page: Page, testid: string, text: string | RegExp, timeout = WAIT_MS): Promise<string> {
	const pattern = typeof text === 'string' ? { source: text, literal: true } : { source: text.source, literal: false };
	try {
		const handle = await page.waitForFunction(
			(selector: string, source: string, literal: boolean) => {
				const shown = document.querySelector(selector)?.textContent ?? '';
				const found = literal ? shown.includes(source) : new RegExp(source).test(shown);
				return found ? shown : false;
			},
			{ timeout, polling: 100 },
			byTestId(testid),
			pattern.source,
			pattern.literal
		);
		return (await handle.jsonValue()) as string;
	} catch (error) {
		const shown = await page.$eval(byTestId(testid), (element) => element.textContent).catch(() => '(no such element)');
		throw new Error(`Firefox: "${testid}" does not show ${String(text)} within ${timeout} ms; it shows: ${shown}`, { cause: error });
	}
}

export async function click(page: Page, testid: string): Promise<void> {
	await page.locator(byTestId(testid)).setTimeout(WAIT_MS).click();
}

export async function fill(page: Page, testid: string, value: string): Promise<void> {
	await page.locator(byTestId(testid)).setTimeout(WAIT_MS).fill(value);
}

/** Welcome → Link to existing account, under the name `deviceName`; the link the device shows. */
export async function showLinkCodeInFirefox(page: Page, deviceName: string): Promise<string> {
	await click(page, 'link-account');
	await fill(page, 'device-name', deviceName);
	await page.waitForSelector(`${byTestId('link-qr')} svg`, { timeout: WAIT_MS });
	return page.$eval(byTestId('link-text'), (input) => (input as HTMLInputElement).value);
}

export async function openSelfChatInFirefox(page: Page): Promise<void> {
	await page.goto(new URL('/chat?id=self', page.url()).href);
	await page.waitForSelector(byTestId('composer'), { timeout: WAIT_MS });
}

export async function sendInFirefox(page: Page, text: string): Promise<void> {
	await fill(page, 'composer', text);
	await click(page, 'send');
	await seeText(page, 'messages', text);
}
