/**
 * Every screen in English and in Dutch: the language the browser asks for, `<html lang>` set to it,
 * no message key shown raw, no English left on a Dutch screen (every English text of
 * messages/en.json that Dutch words differently is looked for), times of day 24-hour in Dutch.
 * Then the switch in Settings: the screens change at once, without a reload, and the choice stays.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { approveByPaste, createAccount, launch, openSelfChat, send, showLinkCode } from './devices';

type Stored = string | [{ match: Record<string, string> }];
type Catalogue = Record<string, Stored>;

function catalogue(locale: 'en' | 'nl'): Catalogue {
	const { $schema: _, ...messages } = JSON.parse(readFileSync(`messages/${locale}.json`, 'utf8')) as Catalogue;
	return messages;
}
const MESSAGES = { en: catalogue('en'), nl: catalogue('nl') };
const KEYS = Object.keys(MESSAGES.en);

function textsOf(message: Stored): string[] {
	return typeof message === 'string' ? [message] : Object.values(message[0].match);
}

/** The plain text of a message without inputs, as a screen shows it. */
function say(locale: 'en' | 'nl', key: string): string {
	const message = MESSAGES[locale][key];
	if (typeof message !== 'string') throw new Error(`${key} is not a plain message`);
	return message;
}

/** A message as a pattern over a screen's text: any words in its placeholders, whole words around it. */
function patternOf(text: string): RegExp {
	const parts = text.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
	return new RegExp(`(?<!\\p{L})${parts.join('.+?')}(?!\\p{L})`, 'u');
}

/** English a Dutch screen must not show: every English text that Dutch words differently. */
const ENGLISH = KEYS.flatMap((key) => {
	const dutch = new Set(textsOf(MESSAGES.nl[key]!));
	return textsOf(MESSAGES.en[key]!)
		.filter((text) => !dutch.has(text))
		.map((text) => ({ key, pattern: patternOf(text) }));
});

/** Everything a user reads or hears on the page: its text, labels, placeholders, tooltips and title. */
function readable(page: Page): Promise<string[]> {
	return page.evaluate(() => {
		const attributes = [...document.querySelectorAll('[aria-label], [placeholder], [title], [alt]')].flatMap((element) =>
			['aria-label', 'placeholder', 'title', 'alt'].flatMap((name) => element.getAttribute(name) ?? [])
		);
		return [document.title, ...document.body.innerText.split('\n'), ...attributes].map((line) => line.trim()).filter(Boolean);
	});
}

/** What is wrong with the screen in `locale`: the wrong lang, raw keys, English on a Dutch screen. */
async function problems(page: Page, locale: 'en' | 'nl'): Promise<string[]> {
	await expect(page.getByText(/^(Opening Samen|Samen wordt geopend)…$/)).toHaveCount(0);
	const found: string[] = [];
	const lang = await page.evaluate(() => document.documentElement.lang);
	if (lang !== locale) found.push(`lang="${lang}"`);
	const lines = await readable(page);
	for (const line of lines) {
		for (const key of KEYS) if (line.includes(key)) found.push(`raw key ${key}: "${line}"`);
		if (locale === 'nl') for (const { key, pattern } of ENGLISH) if (pattern.test(line)) found.push(`English ${key}: "${line}"`);
	}
	return found;
}

/** A browser context that asks for `language` first, on a clock set to a quarter past nine in the evening. */
async function openIn(browser: Browser, baseURL: string, language: string): Promise<Page> {
	const context = await browser.newContext({ baseURL, locale: language, timezoneId: 'Europe/Amsterdam', viewport: { width: 1280, height: 800 } });
	const page = await context.newPage();
	await page.clock.install({ time: new Date('2026-11-25T21:15:00+01:00') });
	await page.goto('/');
	return page;
}

for (const [language, locale] of [
	['en-US', 'en'],
	['nl-NL', 'nl']
] as const) {
	test(`every screen in ${language === 'en-US' ? 'English' : 'Dutch'}: lang="${locale}", no raw keys${locale === 'nl' ? ', no English, 24-hour times' : ''}`, async ({ baseURL }) => {
		test.setTimeout(150_000);
		const browser = await launch();
		try {
			const page = await openIn(browser, baseURL!, language);
			const found: Record<string, string[]> = {};
			const look = async (screen: string) => {
				const wrong = await problems(page, locale);
				if (wrong.length > 0) found[screen] = wrong;
			};

			await expect(page.getByTestId('create-account')).toHaveText(say(locale, 'welcome.create'));
			await look('welcome');
			await page.goto('/link');
			await expect(page.getByTestId('link-qr').locator('svg')).toBeVisible();
			await expect(page.getByRole('heading', { level: 1 })).toHaveText(say(locale, 'invite.title'));
			await look('link');
			await page.goto('/create');
			await expect(page.getByRole('heading', { level: 1 })).toHaveText(say(locale, 'create.title'));
			// The suggested name of this device is in the user's language too.
			await expect(page.getByTestId('device-name')).toHaveValue(locale === 'nl' ? 'Chrome op Linux' : 'Chrome on Linux');
			await look('create');

			await page.goto('/');
			await createAccount(page, 'Ada', 'Laptop');
			await expect(page.getByTestId('chat-self')).toContainText(say(locale, 'chats.self'));
			await look('chats');
			await page.getByTestId('chat-self').click();
			await expect(page.getByTestId('composer')).toHaveAttribute('placeholder', say(locale, 'chat.placeholder'));
			await look('empty chat');
			await send(page, 'Boodschappen: brood, kaas, koffie');
			await expect(page.getByTestId('day')).toHaveText([say(locale, 'chat.today')]);
			await expect(page.getByTestId('message').locator('time')).toHaveText([locale === 'nl' ? '21:15' : /^9:15\sPM$/]);
			await look('chat');

			await page.getByTestId('open-settings').click();
			await expect(page.getByTestId('device-list')).toBeVisible();
			await expect(page.getByTestId('device-role')).toHaveText([say(locale, 'devices.role.primary')]);
			await expect(page.getByTestId('device-linked-at')).toContainText(locale === 'nl' ? /\b21:15\b/ : /\b9:15\sPM\b/);
			await expect(page.getByTestId('language')).toHaveValue(locale);
			await look('settings');
			await page.getByTestId('open-storage').click();
			await expect(page.getByTestId('storage-chat')).toHaveCount(1);
			await page.getByTestId('keep-from').fill('2020-01');
			await page.getByTestId('clear-history').click();
			await expect(page.getByTestId('confirm-clear')).toBeVisible();
			await look('storage');
			await page.getByTestId('cancel-clear').click();
			await page.goto('/settings/link');
			await expect(page.getByTestId('paste-link')).toHaveAttribute('placeholder', say(locale, 'approve.pastePlaceholder'));
			await look('approve');

			await page.goto('/');
			await page.getByTestId('open-contacts').click();
			await expect(page.getByRole('heading', { level: 1 })).toHaveText(say(locale, 'contacts.title'));
			await expect(page.getByTestId('no-contacts')).toHaveText(say(locale, 'contacts.none'));
			await look('contacts (none)');
			await page.getByTestId('add-contact').click();
			await expect(page.getByTestId('invite-qr').locator('svg')).toBeVisible();
			await expect(page.getByTestId('paste-contact')).toHaveAttribute('placeholder', say(locale, 'addContact.pastePlaceholder'));
			await look('add contact');
			const link = await page.getByTestId('invite-link').inputValue();
			// Bram, in a browser context of his own and the same language, opens Ada's invite.
			const bram = await openIn(browser, baseURL!, language);
			await bram.goto(link);
			await expect(bram.getByTestId('contact-link-explained')).toHaveText(say(locale, 'addContact.noAccount'));
			expect(await problems(bram, locale)).toEqual([]);
			await bram.goto('/');
			await createAccount(bram, 'Bram', 'Telefoon');
			await bram.goto(link);
			await expect(bram.getByTestId('accept-contact')).toHaveText(say(locale, 'addContact.add'));
			expect(await problems(bram, locale)).toEqual([]);
			await bram.getByTestId('accept-contact').click();
			await expect(bram.getByTestId('pending')).toBeVisible();
			await bram.getByTestId('paste-contact').fill('c1');
			await bram.getByTestId('use-contact').click();
			await expect(bram.getByTestId('contact-error')).toHaveText(say(locale, 'addContact.error.malformed'));
			expect(await problems(bram, locale)).toEqual([]);
			await page.goto('/contacts');
			await page.getByTestId('contact').filter({ hasText: 'Bram' }).click({ timeout: 45_000 });
			await expect(page.getByTestId('contact-devices')).toHaveText(locale === 'nl' ? '1 apparaat' : '1 device');
			await expect(page.getByTestId('mark-verified')).toHaveText(say(locale, 'contact.markVerified'));
			await page.getByTestId('mark-verified').click();
			await expect(page.getByTestId('unverify')).toHaveText(say(locale, 'contact.removeVerification'));
			await look('contact');
			await page.goto('/groups/new');
			await expect(page.getByTestId('group-chosen')).toHaveText(locale === 'nl' ? '0 contacten gekozen' : '0 contacts chosen');
			await page.getByTestId('create-group').click();
			await expect(page.getByTestId('group-error')).toHaveText(say(locale, 'group.error.title'));
			await look('new group');

			await page.goto('/settings');
			await page.getByTestId('delete-account').click();
			await expect(page.getByRole('alertdialog')).toContainText(say(locale, 'devices.deleteAccountConfirm'));
			await look('delete account');
			await page.getByTestId('confirm-leave').click();
			await expect(page.getByTestId('logged-out-reason')).toHaveText(say(locale, 'loggedOut.account-deleted'));
			await look('logged out');

			expect(found).toEqual({});
		} finally {
			await browser.close();
		}
	});
}

test('a browser in another language gets English; Settings switches the language at once, and it stays', async ({ baseURL }) => {
	test.setTimeout(120_000);
	const browser = await launch();
	try {
		const french = await openIn(browser, baseURL!, 'fr-FR');
		await expect(french.getByTestId('create-account')).toHaveText('Create account');
		expect(await french.evaluate(() => document.documentElement.lang)).toBe('en');

		// Two devices, so that the status bar counts one other device; both in English until the switch.
		const laptop = await openIn(browser, baseURL!, 'en-GB');
		const phone = await openIn(browser, baseURL!, 'en-GB');
		await createAccount(laptop, 'Ada', 'Laptop');
		await approveByPaste(laptop, phone, await showLinkCode(phone, 'Telefoon'));
		await openSelfChat(phone);
		await send(phone, 'Tot vanavond');
		await openSelfChat(laptop);
		await expect(laptop.getByTestId('peers')).toHaveText('1 other device connected');
		await expect(laptop.getByTestId('message')).toContainText(/9:15\sPM · from Telefoon/);

		await laptop.getByTestId('open-settings').click();
		// A mark on the window: gone if switching the language reloaded the page.
		await laptop.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
		await laptop.getByTestId('language').selectOption('nl');
		await expect(laptop.getByRole('heading', { level: 1 })).toHaveText('Instellingen');
		await expect(laptop.getByTestId('peers')).toHaveText('1 ander apparaat verbonden');
		expect(await laptop.evaluate(() => document.documentElement.lang)).toBe('nl');
		expect(await laptop.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
		expect(await problems(laptop, 'nl')).toEqual([]);

		await openSelfChat(laptop);
		await expect(laptop.getByTestId('message')).toContainText('21:15 · vanaf Telefoon');
		expect(await problems(laptop, 'nl')).toEqual([]);

		// Remembered: a new page of the same browser opens in Dutch, though the browser asks for English.
		await laptop.reload();
		await expect(laptop.getByTestId('send')).toHaveText('Versturen');
		expect(await laptop.evaluate(() => document.documentElement.lang)).toBe('nl');
		// The other device keeps its own language.
		await expect(phone.getByTestId('send')).toHaveText('Send');

		await laptop.goto('/settings');
		await laptop.getByTestId('language').selectOption('en');
		await expect(laptop.getByRole('heading', { level: 1 })).toHaveText('Settings');
		expect(await laptop.evaluate(() => document.documentElement.lang)).toBe('en');
	} finally {
		await browser.close();
	}
});
