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
