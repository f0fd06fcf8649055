import { LOCALES, preferredLocale, translate, type Locale, type MessageKey } from './catalogue';

const STORAGE_KEY = 'samen.locale';

function initialLocale(): Locale {
	if (typeof localStorage !== 'undefined') {
		const saved = localStorage.getItem(STORAGE_KEY);
		if (saved && saved in LOCALES) return saved as Locale;
	}
	return preferredLocale(typeof navigator === 'undefined' ? [] : navigator.languages);
}

export const i18n = $state({ locale: initialLocale() });

export function setLocale(locale: Locale): void {
	i18n.locale = locale;
	localStorage.setItem(STORAGE_KEY, locale);
	document.documentElement.lang = locale;
}

/** Reads `i18n.locale`, so a component re-renders when the language changes. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
	return translate(i18n.locale, key, params);
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

/** A time of day in the user's language, for message bubbles. */
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
