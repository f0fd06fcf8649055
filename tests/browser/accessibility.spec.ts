/**
 * Every screen, on a phone and a desktop, light and dark: no violation that axe-core finds, and
 * every control a touch target of at least 44×44 px. On the way, with SAMEN_SCREENSHOTS=1
 * (`npm run screenshots`), the main screens are photographed for the README (docs/screenshots/), and
 * a chat in the light theme for the install dialogue (static/screenshots/, named in the manifest).
 */
import { expect, test } from '@playwright/test';
import { copyFileSync, mkdirSync } from 'node:fs';
import { axeViolations, smallTargets } from './a11y';
import { createAccount, launch } from './devices';

const SIZES = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } } as const;
const SCREENSHOTS = 'docs/screenshots';
/** Photographs change with every run (the clock, the status): made when asked for, not by every test run. */
const PHOTOGRAPH = process.env.SAMEN_SCREENSHOTS === '1';

for (const scheme of ['light', 'dark'] as const) {
	for (const [size, viewport] of Object.entries(SIZES)) {
		test(`every screen passes axe-core and has 44 px targets: ${size}, ${scheme}`, async ({ baseURL }) => {
			test.setTimeout(150_000);
			const browser = await launch();
			try {
				const context = await browser.newContext({ baseURL, viewport, colorScheme: scheme });
				const page = await context.newPage();
				const found: Record<string, string[]> = {};
				const look = async (screen: string, photo = false, on = page) => {
					await expect(on.getByText('Opening Samen…')).toHaveCount(0);
					const problems = [...(await axeViolations(on)), ...(await smallTargets(on))];
					if (problems.length > 0) found[screen] = problems;
					if (photo && PHOTOGRAPH) {
						mkdirSync(SCREENSHOTS, { recursive: true });
						await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
						const path = `${SCREENSHOTS}/${size}-${scheme}-${screen}.png`;
						await page.screenshot({ path, animations: 'disabled', caret: 'hide' });
						if (screen === 'chat' && scheme === 'light') copyFileSync(path, `static/screenshots/${size === 'phone' ? 'narrow' : 'wide'}.png`);
					}
				};
				await page.goto('/');
				// The theme follows the system, and so does the colour of the browser's own bar.
				const colours = await page.evaluate(() => ({
					background: getComputedStyle(document.documentElement).backgroundColor,
					themeColor: [...document.querySelectorAll<HTMLMetaElement>('meta[name="theme-color"]')].find((meta) => matchMedia(meta.media).matches)?.content
				}));
				expect(colours).toEqual(scheme === 'dark' ? { background: 'rgb(18, 23, 22)', themeColor: '#163c33' } : { background: 'rgb(255, 255, 255)', themeColor: '#1f6f5c' });

				await page.goto('/');
				await expect(page.getByTestId('create-account')).toBeVisible();
				await look('welcome', size === 'phone');
				await page.goto('/link');
				await expect(page.getByTestId('link-qr').locator('svg')).toBeVisible();
				await look('link');
				await page.goto('/create');
				await expect(page.getByTestId('account-name')).toBeVisible();
				await look('create');

				await page.goto('/');
				await createAccount(page, 'Ada', 'Laptop');
				await look('chats');
				await page.getByTestId('chat-self').click();
				const composer = page.getByTestId('composer');
				for (const text of ['Shopping: bread, cheese, coffee', 'Train at 8:12 from platform 3\nSeat 45, coach 7', 'Call the dentist about Thursday']) {
					await composer.fill(text);
					await composer.press('Enter');
					await expect(page.getByTestId('messages')).toContainText(text.split('\n')[0]!);
				}
				await look('chat', true);
				if (size === 'phone') {
					await page.getByTestId('back').click();
					await expect(page.getByTestId('chat-self')).toContainText('Call the dentist');
					await look('chats', true);
					await page.getByTestId('chat-self').click();
				}
				await page.getByTestId('open-settings').click();
				await expect(page.getByTestId('device-list')).toBeVisible();
				await look('settings', true);
				await page.getByTestId('open-storage').click();
				await expect(page.getByTestId('storage-chat')).toHaveCount(1);
				await page.getByTestId('keep-from').fill('2020-01');
				await page.getByTestId('clear-history').click();
				await expect(page.getByTestId('confirm-clear')).toBeVisible();
				await look('storage');
				await page.getByTestId('cancel-clear').click();
				await page.goto('/settings');
				await page.getByTestId('link-device').click();
				await expect(page.getByTestId('paste-link')).toBeVisible();
				await look('approve');

				// Contacts: empty, then Add contact, then with a contact (Bram, in a browser of his own) and a group to make.
				await page.goto('/');
				await page.getByTestId('open-contacts').click();
				await expect(page.getByTestId('no-contacts')).toBeVisible();
				await look('contacts (none)');
				await page.goto('/groups/new');
				await expect(page.getByTestId('group-no-contacts')).toBeVisible();
				await look('new group (no contacts)');
				await page.goto('/contacts/add');
				await expect(page.getByTestId('invite-qr').locator('svg')).toBeVisible();
				await look('add contact', true);
				const link = await page.getByTestId('invite-link').inputValue();
				const bram = await (await browser.newContext({ baseURL, viewport, colorScheme: scheme })).newPage();
				await bram.goto(link);
				await expect(bram.getByTestId('contact-link-explained')).toBeVisible();
				await look('invite without an account', false, bram);
				await bram.goto('/');
				await createAccount(bram, 'Bram', 'Phone');
				await bram.goto(link);
				await expect(bram.getByTestId('contact-offer')).toBeVisible();
				await look('invite opened', false, bram);
				await bram.getByTestId('accept-contact').click();
				await expect(bram.getByTestId('pending')).toBeVisible();
				await look('request sent', false, bram);
				await bram.getByTestId('paste-contact').fill('not a link');
				await bram.getByTestId('use-contact').click();
				await expect(bram.getByTestId('contact-error')).toBeVisible();
				await look('invite refused', false, bram);
				await page.goto('/contacts');
				await page.getByTestId('contact').filter({ hasText: 'Bram' }).click({ timeout: 45_000 });
				await expect(page.getByTestId('safety-qr').locator('svg')).toBeVisible();
				await page.getByTestId('mark-verified').click();
				await expect(page.getByTestId('unverify')).toBeVisible();
				await look('contact', true);
				await page.goto('/contacts');
				await expect(page.getByTestId('verified-mark')).toBeVisible();
				await look('contacts', true);
				await page.getByTestId('new-group').click();
				await page.getByRole('checkbox', { name: 'Bram' }).check();
				await look('new group');
				await page.getByTestId('group-title').fill('Team');
				await page.getByTestId('create-group').click();
				await page.getByTestId('chat-info').click();
				await expect(page.getByTestId('group-member-row')).toHaveCount(2);
				await look('group info');
				await page.goto('/search');
				await page.getByTestId('search-query').fill('nothing like this');
				await expect(page.getByTestId('search-none')).toBeVisible();
				await look('search');

				expect(found).toEqual({});
			} finally {
				await browser.close();
			}
		});
	}
}

test('the keyboard alone reaches every control of the chats, with a visible focus ring, and writes a message', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const context = await browser.newContext({ baseURL, viewport: SIZES.desktop });
		const page = await context.newPage();
		await page.goto('/');
		await createAccount(page, 'Ada', 'Laptop');

		/** Presses Tab until `testid` has the focus; the ids passed on the way, in order. */
		const tabTo = async (testid: string): Promise<string[]> => {
			const passed: string[] = [];
			for (let i = 0; i < 20; i++) {
				await page.keyboard.press('Tab');
				const focused = await page.evaluate(() => {
					const element = document.activeElement as HTMLElement;
					const style = getComputedStyle(element);
					return { id: element.dataset.testid ?? element.textContent?.trim() ?? '', ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
				});
				expect(focused.ring, `focus ring on ${focused.id}`).toBe(true);
				passed.push(focused.id);
				if (focused.id === testid) return passed;
			}
			throw new Error(`Tab never reached ${testid}; passed ${passed.join(', ')}`);
		};
		expect(await tabTo('chat-self')).toEqual(['Samen', 'open-settings', 'open-search', 'open-contacts', 'chat-self']);
		await page.keyboard.press('Enter');
		await expect(page).toHaveURL(/\/chat\?id=self$/);
		// A new screen starts the focus from the top again (SvelteKit); the list stays beside the chat.
		expect(await tabTo('send')).toEqual(['Samen', 'open-settings', 'open-search', 'open-contacts', 'chat-self', 'messages', 'composer', 'send']);
		await page.keyboard.press('Shift+Tab');
		await page.keyboard.type('typed, never clicked');
		await page.keyboard.press('Enter');
		await expect(page.getByTestId('message')).toHaveText([/typed, never clicked/]);
	} finally {
		await browser.close();
	}
});
