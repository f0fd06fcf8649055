import { describe, expect, it } from 'vitest';
import { LOCALES, preferredLocale, translate } from '../../src/lib/i18n/catalogue';

describe('message catalogue', () => {
	it('has every key in every language, with the same placeholders', () => {
		const keys = Object.keys(LOCALES.en).sort();
		for (const catalogue of Object.values(LOCALES)) {
			expect(Object.keys(catalogue).sort()).toEqual(keys);
			for (const key of keys) {
				const placeholders = (text: string) => (text.match(/\{\w+\}/g) ?? []).sort();
				expect(placeholders((catalogue as Record<string, string>)[key]!)).toEqual(placeholders((LOCALES.en as Record<string, string>)[key]!));
			}
		}
	});

	it('fills placeholders and picks the user language', () => {
		expect(translate('nl', 'invite.expiresIn', { seconds: 90 })).toBe('Deze code verloopt over 90 s en werkt één keer.');
		expect(preferredLocale(['nl-BE', 'en'])).toBe('nl');
		expect(preferredLocale(['fr-FR'])).toBe('en');
	});
});
