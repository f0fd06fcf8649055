/**
 * The user's language, and every string a user sees in it.
 *
 * The strings live in messages/en.json and messages/nl.json (inlang message format, plurals as
 * variants over `Intl.PluralRules`); Paraglide JS compiles them into one typed function per message
 * in src/lib/paraglide/ (generated: by the Vite plugin on build, dev and test, and by
 * `npm run check`). `t('key', params)` is a thin typed façade over those functions: a key that does
 * not exist, or a missing parameter, is a type error.
 *
 * The language comes from Paraglide's strategies (project.inlang/paraglide.config.ts): the choice
 * saved in localStorage, else the browser's languages, else English. It is kept in a rune, so
 * switching re-renders every screen at once, without a reload, and it is set on `<html lang>`.
 */
import { m } from '$lib/paraglide/messages.js';
import {
	getLocale,
	isLocale,
	locales,
	overwriteGetLocale,
	setLocale as saveLocale,
	type Locale
} from '$lib/paraglide/runtime.js';

export type { Locale };
export { isLocale, locales };

type Messages = typeof m;
export type MessageKey = keyof Messages;
type Inputs<K extends MessageKey> = Parameters<Messages[K]>[0];
/** A message without inputs takes no parameters; one with inputs must have them all. */
type Params<K extends MessageKey> = {} extends NonNullable<Inputs<K>> ? [params?: Inputs<K>] : [params: Inputs<K>];

export const i18n = $state({ locale: getLocale() });

// Message functions ask the runtime for the locale: answering from the rune makes every message
// shown on screen (through `t` or `m` directly) follow a switch.
overwriteGetLocale(() => i18n.locale);
showLocale(i18n.locale);

function showLocale(locale: Locale): void {
	if (typeof document !== 'undefined') document.documentElement.lang = locale;
}

/** Switches the language now, remembers it on this device, and tells the page. */
export function setLocale(locale: Locale): void {
	if (!isLocale(locale)) throw new RangeError(`Samen does not speak ${String(locale)}`);
	i18n.locale = locale;
	void saveLocale(locale, { reload: false });
	showLocale(locale);
}

/** A language's name in that language ("English", "Nederlands"), for the language switch. */
export function localeName(locale: Locale): string {
	const name = new Intl.DisplayNames([locale], { type: 'language' }).of(locale) ?? locale;
	return name.charAt(0).toLocaleUpperCase(locale) + name.slice(1);
}

/** The message `key` in the user's language. Reads `i18n.locale`, so a component re-renders when it changes. */
export function t<K extends MessageKey>(key: K, ...[params]: Params<K>): string {
	const message = m[key] as (inputs: Inputs<K> | undefined, options: { locale: Locale }) => string;
	return message(params, { locale: i18n.locale });
}

// Building a formatter costs more than formatting: one per locale and style, made on first use.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(style: 'time' | 'dateTime'): Intl.DateTimeFormat {
	const key = `${i18n.locale}/${style}`;
	let format = formatters.get(key);
	if (!format) {
		format = new Intl.DateTimeFormat(
			i18n.locale,
			style === 'time' ? { hour: 'numeric', minute: '2-digit' } : { dateStyle: 'medium', timeStyle: 'short' }
		);
		formatters.set(key, format);
	}
	return format;
}

/** A time of day in the user's language, for message bubbles (9:25 PM in English, 21:25 in Dutch). */
export function formatTime(at: number): string {
	return formatter('time').format(at);
}

/** A date and time in the user's language, for the device list and notices. */
export function formatDateTime(at: number): string {
	return formatter('dateTime').format(at);
}

/** A count in the user's language (12,400 in English, 12.400 in Dutch). */
export function formatCount(count: number): string {
	return count.toLocaleString(i18n.locale);
}
