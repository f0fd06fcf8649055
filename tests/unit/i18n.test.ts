import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { formatCount, formatDateTime, formatTime, i18n, localeName, locales, setLocale, t } from '../../src/lib/i18n/index.svelte';

const settings = JSON.parse(readFileSync('project.inlang/settings.json', 'utf8')) as { baseLocale: string; locales: string[] };

/** A message as the files hold it: a string, or variants chosen by selectors. */
type Stored = string | [{ declarations?: string[]; selectors?: string[]; match: Record<string, string> }];

function messagesOf(locale: string): Record<string, Stored> {
	const { $schema: _, ...messages } = JSON.parse(readFileSync(`messages/${locale}.json`, 'utf8')) as Record<string, Stored>;
	return messages;
}

/** What a message needs from the caller, and what a translation may not leave out: its inputs and placeholders. */
function shape(message: Stored): { inputs: string[]; placeholders: string[]; texts: string[] } {
	const texts = typeof message === 'string' ? [message] : Object.values(message[0].match);
	const placeholders = [...new Set(texts.flatMap((text) => [...text.matchAll(/\{(\w+)\}/g)].map((found) => found[1]!)))].sort();
	const inputs =
		typeof message === 'string'
			? placeholders
			: (message[0].declarations ?? []).flatMap((line) => (line.startsWith('input ') ? [line.slice(6)] : [])).sort();
	return { inputs, placeholders, texts };
}

afterEach(() => setLocale('en'));

describe('messages', () => {
	it('come in every language of the project, each with every key, the same inputs and the same placeholders', () => {
		expect([...locales].sort()).toEqual([...settings.locales].sort());
		const base = messagesOf(settings.baseLocale);
		expect(Object.keys(base).length).toBeGreaterThan(100);
		for (const locale of settings.locales) {
			const messages = messagesOf(locale);
			expect(Object.keys(messages).sort(), locale).toEqual(Object.keys(base).sort());
			for (const [key, message] of Object.entries(messages)) {
				const { inputs, placeholders, texts } = shape(message);
				const expected = shape(base[key]!);
				expect({ locale, key, inputs, placeholders }).toEqual({ locale, key, inputs: expected.inputs, placeholders: expected.placeholders });
				for (const text of texts) {
					expect(text.trim(), `${locale} ${key}`).not.toBe('');
					// Plurals are variants, not "device(s)" or "apparaat/apparaten".
					expect(text, `${locale} ${key}`).not.toMatch(/\w\((s|e|en)\)|\(e\)|apparaat\/apparaten/);
				}
			}
		}
	});

	it('are translated: a Dutch message says what the English one says in other words, but for words Dutch shares', () => {
		const shared = ['app.name', 'status.online', 'chats.title', 'settings.account', 'devices.kind.tablet', 'devices.kind.computer', 'devices.securityEvent'];
		const english = messagesOf('en');
		const dutch = messagesOf('nl');
		const same = Object.keys(english).filter((key) => JSON.stringify(english[key]) === JSON.stringify(dutch[key]));
		expect(same).toEqual(shared);
	});

	it('are filled in and switch language at once', () => {
		expect(t('invite.expiresIn', { seconds: 90 })).toBe('This code expires in 90 s and works once.');
		setLocale('nl');
		expect(i18n.locale).toBe('nl');
		expect(t('invite.expiresIn', { seconds: 90 })).toBe('Deze code verloopt over 90 s en werkt één keer.');
		expect(t('chat.fromDevice', { device: 'Telefoon' })).toBe('vanaf Telefoon');
		setLocale('en');
		expect(t('chat.fromDevice', { device: 'Phone' })).toBe('from Phone');
	});

	it('choose the plural form of the language', () => {
		expect([1, 2].map((count) => t('status.devices', { count }))).toEqual(['1 other device connected', '2 other devices connected']);
		expect([1, 3].map((count) => t('storage.months', { count }))).toEqual(['1 month', '3 months']);
		expect([1, 2].map((days) => t('absence.warning', { days }))).toEqual([
			'Open Samen on your primary device within 1 day to stay logged in.',
			'Open Samen on your primary device within 2 days to stay logged in.'
		]);
		expect(t('status.syncingProgress', { received: 1200, expected: 12400 })).toBe('Syncing history: 1,200 of 12,400 messages');
		expect(t('status.syncingProgress', { received: 0, expected: 1 })).toBe('Syncing history: 0 of 1 message');

		setLocale('nl');
		expect([1, 2].map((count) => t('status.devices', { count }))).toEqual(['1 ander apparaat verbonden', '2 andere apparaten verbonden']);
		expect([1, 3].map((count) => t('storage.cleared', { count }))).toEqual([
			'1 maand geschiedenis van dit apparaat gewist.',
			'3 maanden geschiedenis van dit apparaat gewist.'
		]);
		expect([1, 2].map((days) => t('absence.warning', { days }))).toEqual([
			'Open Samen binnen 1 dag op je hoofdapparaat om ingelogd te blijven.',
			'Open Samen binnen 2 dagen op je hoofdapparaat om ingelogd te blijven.'
		]);
		expect(t('status.syncingProgress', { received: 1200, expected: 12400 })).toBe('Geschiedenis ophalen: 1.200 van 12.400 berichten');
	});

	it('name each language in itself', () => {
		expect(locales.map(localeName)).toEqual(['English', 'Nederlands']);
	});
});

describe('times, dates and counts', () => {
	const evening = new Date(2026, 10, 25, 21, 5).getTime();

	it('are in the chosen language, times 24-hour in Dutch', () => {
		expect(formatTime(evening)).toMatch(/^9:05\sPM$/);
		expect(formatDateTime(evening)).toMatch(/^Nov 25, 2026, 9:05\sPM$/);
		expect(formatCount(12400)).toBe('12,400');
		setLocale('nl');
		expect(formatCount(12400)).toBe('12.400');
		expect(formatTime(evening)).toBe('21:05');
		expect(formatDateTime(evening)).toBe('25 nov 2026, 21:05');
	});
});

describe('the message function types', () => {
	// The @ts-expect-error lines are checked by svelte-check (`npm run check`), which fails if a line does not err.
	it('refuse a key that does not exist and a missing input', () => {
		// @ts-expect-error: no such message
		expect(() => t('status.nonsense')).toThrow(TypeError);
		// @ts-expect-error: the count is required
		const withoutCount = () => t('status.devices');
		// @ts-expect-error: `name` is not an input of this message, and `count` is missing
		const wrongInput = () => t('status.devices', { name: 'Ada' });
		expect([withoutCount, wrongInput].every((call) => typeof call === 'function')).toBe(true);
	});
});
