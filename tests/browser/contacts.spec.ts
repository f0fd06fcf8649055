/**
 * Contacts and chats with other accounts, each account in its own browser context: adding a contact
 * by the camera and by an opened link, a direct chat both ways, verifying with the safety code by
 * eye and by scanning its QR, a group of three accounts, and invites that are malformed, expired, one's own, or opened in a
 * browser without an account.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { axeViolations, smallTargets } from './a11y';
import { approveByPaste, cameraFile, cameraUse, createAccount, launch, launchWithCamera, openDevice, send, showLinkCode, showToCamera } from './devices';

const EXCHANGE_MS = 45_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Contacts → Add contact: this account's invite link, with its QR on screen. */
async function showInvite(page: Page): Promise<string> {
	await page.goto('/');
	await page.getByTestId('open-contacts').click();
	await page.getByTestId('add-contact').click();
	await expect(page.getByTestId('invite-qr').locator('svg')).toBeVisible();
	const link = await page.getByTestId('invite-link').inputValue();
	expect(link).toMatch(/\/contacts\/add#contact=c1/);
	return link;
}

/** The contact list shows `name` (the exchange done on this side). */
async function expectContact(page: Page, name: string): Promise<void> {
	if (!page.url().endsWith('/contacts')) await page.goto('/contacts');
	await expect(page.getByTestId('contact-name').getByText(name, { exact: true })).toBeVisible({ timeout: EXCHANGE_MS });
}

/** Opens the contact `name` and its direct chat; returns the chat's id. */
async function openDirectChat(page: Page, name: string): Promise<string> {
	await expectContact(page, name);
	await page.getByTestId('contact').filter({ hasText: name }).click();
	await expect(page.getByTestId('contact-title')).toContainText(name);
	await page.getByTestId('message-contact').click({ timeout: EXCHANGE_MS });
	await expect(page.getByTestId('composer')).toBeVisible();
	return new URL(page.url()).searchParams.get('id')!;
}

/** `invitee` opens `inviter`'s invite link and says Add; both end up contacts. */
async function befriendByLink(inviter: Page, inviterName: string, invitee: Page, inviteeName: string): Promise<void> {
	const link = await showInvite(inviter);
	await invitee.goto(link);
	await expect(invitee.getByTestId('contact-offer')).toContainText(`Add ${inviterName} as a contact?`);
	await invitee.getByTestId('accept-contact').click();
	await expect(invitee.getByTestId('contact-sent')).toHaveText(`Request sent: ${inviterName} is added when one of their devices is online.`);
	await expectContact(inviter, inviteeName);
	await expectContact(invitee, inviterName);
}

test('add a contact by camera: Bram scans Ada’s code; both see each other in Contacts and write in their chat', async ({ baseURL }) => {
	test.setTimeout(150_000);
	const adaBrowser = await launch();
	let bramBrowser: Awaited<ReturnType<typeof launch>> | undefined;
	try {
		const ada = await openDevice(adaBrowser, baseURL!);
		await createAccount(ada.page, 'Ada', 'Laptop');
		await showInvite(ada.page);
		// Bram's phone camera films Ada's screen.
		bramBrowser = await launchWithCamera(cameraFile(await ada.page.getByTestId('invite-qr').screenshot()));
		const bram = await openDevice(bramBrowser, baseURL!, { watchCamera: true });
		await createAccount(bram.page, 'Bram', 'Phone');
		await bram.page.getByTestId('open-contacts').click();
		await expect(bram.page.getByTestId('no-contacts')).toBeVisible();
		await bram.page.getByTestId('add-contact').click();
		// The camera waits for the user.
		await expect(bram.page.getByTestId('scan-contact')).toBeVisible();
		expect(await bram.page.evaluate(() => (window as unknown as { cameraRequests: number }).cameraRequests)).toBe(0);
		await bram.page.getByTestId('scan-contact').click();
		await expect(bram.page.getByTestId('contact-sent')).toHaveText('Request sent: Ada is added when one of their devices is online.');
		await expect(bram.page.getByTestId('pending')).toContainText('Ada');

		await expectContact(ada.page, 'Bram');
		await expectContact(bram.page, 'Ada');
		await expect(bram.page.getByTestId('pending')).toHaveCount(0);

		const chatId = await openDirectChat(bram.page, 'Ada');
		await send(bram.page, 'Hallo Ada, dit is Bram');
		const adaChat = await openDirectChat(ada.page, 'Bram');
		expect(adaChat).toBe(chatId);
		await expect(ada.page.getByTestId('messages')).toContainText('Hallo Ada, dit is Bram', { timeout: EXCHANGE_MS });
		await send(ada.page, 'Hoi Bram!');
		await expect(bram.page.getByTestId('messages')).toContainText('Hoi Bram!', { timeout: EXCHANGE_MS });
		// The chat list names a direct chat after the contact.
		await expect(ada.page.getByTestId(`chat-${chatId}`)).toContainText('Bram');
		await expect(bram.page.getByTestId(`chat-${chatId}`)).toContainText('Ada');
	} finally {
		await bramBrowser?.close();
		await adaBrowser.close();
	}
});

test('add a contact by link, then verify: both show the same 60 digits, Ada’s mark for Bram shows, and Bram’s new device is noticed', async ({ baseURL }) => {
	test.setTimeout(150_000);
	const browser = await launch();
	try {
		const ada = await openDevice(browser, baseURL!);
		const bram = await openDevice(browser, baseURL!);
		await createAccount(ada.page, 'Ada', 'Laptop');
		await createAccount(bram.page, 'Bram', 'Phone');
		await befriendByLink(ada.page, 'Ada', bram.page, 'Bram');

		const codes: string[][] = [];
		for (const [page, other] of [
			[ada.page, 'Bram'],
			[bram.page, 'Ada']
		] as const) {
			await page.goto('/contacts');
			await page.getByTestId('contact').filter({ hasText: other }).click();
			await expect(page.getByTestId('contact-devices')).toHaveText('1 device');
			await expect(page.getByText(`Compare this code with the one on ${other}’s phone.`)).toBeVisible();
			await expect(page.getByTestId('safety-group')).toHaveCount(12);
			await expect(page.getByTestId('safety-qr').locator('svg')).toBeVisible();
			codes.push(await page.getByTestId('safety-group').allTextContents());
		}
		expect(codes[0]!.join('')).toMatch(/^\d{60}$/);
		for (const group of codes[0]!) expect(group).toMatch(/^\d{5}$/);
		expect(codes[1]).toEqual(codes[0]);

		await expect(ada.page.getByTestId('verify-state')).toHaveText('Not verified yet.');
		await ada.page.getByTestId('mark-verified').click();
		await expect(ada.page.getByTestId('verify-state')).toHaveText('You verified Bram.');
		await expect(ada.page.getByTestId('contact-title').getByTestId('verified-mark')).toBeVisible();
		await ada.page.getByTestId('unverify').click();
		await expect(ada.page.getByTestId('contact-title').getByTestId('verified-mark')).toHaveCount(0);
		await ada.page.getByTestId('mark-verified').click();
		await ada.page.goto('/contacts');
		await expect(ada.page.getByTestId('contact').filter({ hasText: 'Bram' }).getByTestId('verified-mark')).toHaveText('✓ Verified');
		// Verifying is Ada's own judgement: Bram's list has no mark for Ada.
		await bram.page.goto('/contacts');
		await expect(bram.page.getByTestId('contact').filter({ hasText: 'Ada' })).toBeVisible();
		await expect(bram.page.getByTestId('verified-mark')).toHaveCount(0);

		// Bram links a tablet: Ada's page for Bram says so, so that she can tell a device she did not expect.
		const tablet = await openDevice(browser, baseURL!);
		await approveByPaste(bram.page, tablet.page, await showLinkCode(tablet.page, 'Tablet'));
		await ada.page.getByTestId('contact').filter({ hasText: 'Bram' }).click();
		await expect(ada.page.getByTestId('contact-devices')).toHaveText('2 devices', { timeout: EXCHANGE_MS });
		await expect(ada.page.getByTestId('device-notice')).toHaveText([/^Bram linked a new device \(/]);
		// And the chat with Bram has a line for it.
		await ada.page.getByTestId('message-contact').click();
		await expect(ada.page.getByTestId('chat-notice')).toHaveText(['Bram linked a new device']);
	} finally {
		await browser.close();
	}
});

test('verify by camera: Bram scans Ada’s safety QR and she is verified; her invite QR and her code with Cas are refused and mark nothing; without a camera, comparing by eye stays', async ({
	baseURL
}) => {
	test.setTimeout(210_000);
	// Ada and Cas share a browser whose camera nobody allowed; Bram's phone films whatever the test holds before it.
	const browser = await launch(['--use-fake-device-for-media-stream']);
	let bramBrowser: Awaited<ReturnType<typeof launch>> | undefined;
	try {
		const ada = await openDevice(browser, baseURL!);
		const cas = await openDevice(browser, baseURL!, { permissions: [] });
		await createAccount(ada.page, 'Ada', 'Laptop');
		await createAccount(cas.page, 'Cas', 'Tablet');
		await showInvite(ada.page);
		// First before Bram's camera: Ada's invite, not her safety code.
		const camera = cameraFile(await ada.page.getByTestId('invite-qr').screenshot());
		bramBrowser = await launchWithCamera(camera);
		const bram = await openDevice(bramBrowser, baseURL!, { watchCamera: true });
		await createAccount(bram.page, 'Bram', 'Phone');
		await befriendByLink(ada.page, 'Ada', bram.page, 'Bram');
		await befriendByLink(ada.page, 'Ada', cas.page, 'Cas');

		const openContact = async (page: Page, name: string) => {
			await page.goto('/contacts');
			await page.getByTestId('contact').filter({ hasText: name }).click();
			await expect(page.getByTestId('contact-title')).toContainText(name);
			await expect(page.getByTestId('safety-qr').locator('svg')).toBeVisible();
		};
		const safetyQr = async (page: Page, name: string) => {
			await openContact(page, name);
			return page.getByTestId('safety-qr').screenshot();
		};
		const unverified = async () => {
			await expect(bram.page.getByTestId('verify-state')).toHaveText('Not verified yet.');
			await expect(bram.page.getByTestId('verified-mark')).toHaveCount(0);
			await expect(bram.page.getByTestId('mark-verified')).toBeVisible();
		};
		const accessible = async (page: Page) => expect([...(await axeViolations(page)), ...(await smallTargets(page))]).toEqual([]);

		await openContact(bram.page, 'Ada');
		// The camera waits for the user.
		await expect(bram.page.getByTestId('scan-safety')).toHaveText('Scan their code');
		await expect(bram.page.getByTestId('camera')).toBeHidden();
		expect(await cameraUse(bram.page)).toEqual({ requests: 0, live: 0 });
		await accessible(bram.page);

		await bram.page.getByTestId('scan-safety').click();
		await expect(bram.page.getByTestId('scan-outcome')).toHaveText(
			'This QR code is not a Samen safety code. Ask Ada to open your contact in Samen and show the code under Verify.'
		);
		await unverified();
		// A code read turns the camera off, and the screen offers to scan again.
		expect(await cameraUse(bram.page)).toEqual({ requests: 1, live: 0 });
		await expect(bram.page.getByTestId('camera')).toBeHidden();
		await expect(bram.page.getByTestId('scanning')).toHaveCount(0);

		// Ada shows, by mistake, her code with Cas.
		showToCamera(camera, await safetyQr(ada.page, 'Cas'));
		await bram.page.getByTestId('scan-safety').click();
		await expect(bram.page.getByTestId('scan-outcome')).toHaveText(
			'These codes do not match, so Ada is not marked as verified. Check that Ada has your contact open, and scan again. If the codes still differ, the Ada in your contacts is a different account from the person in front of you (someone may have swapped the invite): do not trust it, and add each other again while you are together.'
		);
		await expect(bram.page.getByTestId('scan-outcome')).toHaveAttribute('role', 'alert');
		await unverified();
		await accessible(bram.page);

		// Now her code with Bram.
		showToCamera(camera, await safetyQr(ada.page, 'Bram'));
		await bram.page.getByTestId('scan-safety').click();
		await expect(bram.page.getByTestId('scan-outcome')).toHaveText('The codes match: you verified Ada.');
		await expect(bram.page.getByTestId('verify-state')).toHaveText('You verified Ada.');
		await expect(bram.page.getByTestId('contact-title').getByTestId('verified-mark')).toBeVisible();
		expect(await cameraUse(bram.page)).toEqual({ requests: 3, live: 0 });
		await accessible(bram.page);
		await bram.page.goto('/contacts');
		await expect(bram.page.getByTestId('contact').filter({ hasText: 'Ada' }).getByTestId('verified-mark')).toHaveText('✓ Verified');
		// Bram's judgement only: Ada has not verified Bram.
		await openContact(ada.page, 'Bram');
		await expect(ada.page.getByTestId('verify-state')).toHaveText('Not verified yet.');

		// Cas's browser may not use the camera: the page says so, and comparing by eye still verifies.
		await openContact(cas.page, 'Ada');
		await cas.page.getByTestId('scan-safety').click();
		await expect(cas.page.getByTestId('camera-error')).toContainText(
			'Samen may not use the camera. To scan, allow the camera for this site in your browser’s settings (often behind the icon next to the address) and try again. Or compare the digits by eye instead.'
		);
		await expect(cas.page.getByTestId('camera')).toBeHidden();
		await accessible(cas.page);
		await cas.page.getByTestId('mark-verified').click();
		await expect(cas.page.getByTestId('verify-state')).toHaveText('You verified Ada.');
	} finally {
		await bramBrowser?.close();
		await browser.close();
	}
});

test('a group of three accounts: Ada makes it with Bram and Cas, and a message from each reaches the others', async ({ baseURL }) => {
	test.setTimeout(240_000);
	const browser = await launch();
	try {
		const [ada, bram, cas] = [await openDevice(browser, baseURL!), await openDevice(browser, baseURL!), await openDevice(browser, baseURL!)];
		await createAccount(ada.page, 'Ada', 'Laptop');
		await createAccount(bram.page, 'Bram', 'Phone');
		await createAccount(cas.page, 'Cas', 'Tablet');
		await befriendByLink(ada.page, 'Ada', bram.page, 'Bram');
		// Cas pastes the link Ada sent.
		const link = await showInvite(ada.page);
		// Going back and opening Add contact again shows the same invite (it is for anyone who sees it, for 7 days).
		await ada.page.getByRole('link', { name: '← Contacts' }).click();
		await ada.page.getByTestId('add-contact').click();
		await expect(ada.page.getByTestId('invite-link')).toHaveValue(link);
		await cas.page.goto('/contacts/add');
		await cas.page.getByTestId('paste-contact').fill(link);
		await cas.page.getByTestId('use-contact').click();
		await expect(cas.page.getByTestId('contact-sent')).toHaveText('Request sent: Ada is added when one of their devices is online.');
		await expectContact(ada.page, 'Cas');
		await expectContact(cas.page, 'Ada');

		await ada.page.getByTestId('new-group').click();
		await ada.page.getByTestId('create-group').click();
		await expect(ada.page.getByTestId('group-error')).toHaveText('Please give the group a name.');
		await ada.page.getByTestId('group-title').fill('Team');
		await ada.page.getByTestId('create-group').click();
		await expect(ada.page.getByTestId('group-error')).toHaveText('Choose at least one contact.');
		await ada.page.getByRole('checkbox', { name: 'Bram' }).check();
		await ada.page.getByRole('checkbox', { name: 'Cas' }).check();
		await expect(ada.page.getByTestId('group-chosen')).toHaveText('2 contacts chosen');
		await ada.page.getByTestId('create-group').click();
		await expect(ada.page).toHaveURL(/\/chat\?id=/);
		const groupId = new URL(ada.page.url()).searchParams.get('id')!;
		await expect(ada.page.getByTestId(`chat-${groupId}`)).toContainText('Team');
		await send(ada.page, 'Welkom in het team');

		for (const [page, text] of [
			[bram.page, 'Bram hier'],
			[cas.page, 'Cas hier']
		] as const) {
			await page.goto('/');
			await expect(page.getByTestId(`chat-${groupId}`)).toContainText('Team', { timeout: EXCHANGE_MS });
			await page.getByTestId(`chat-${groupId}`).click();
			await expect(page.getByTestId('messages')).toContainText('Welkom in het team', { timeout: EXCHANGE_MS });
			await send(page, text);
		}
		for (const page of [ada.page, bram.page, cas.page]) {
			for (const text of ['Welkom in het team', 'Bram hier', 'Cas hier']) await expect(page.getByTestId('messages')).toContainText(text, { timeout: EXCHANGE_MS });
		}

		// Cas leaves from the group's page; the others see the line, and Cas reads nothing written after.
		await cas.page.getByTestId('chat-info').click();
		await expect(cas.page.getByTestId('group-member-row')).toHaveText(['You', 'Ada · made the group', 'Bram']);
		expect((await new AxeBuilder({ page: cas.page }).analyze()).violations.map((violation) => violation.id)).toEqual([]);
		await cas.page.getByTestId('leave-group').click();
		await cas.page.getByTestId('leave-yes').click();
		await expect(cas.page.getByTestId('group-left')).toHaveText('You left this group.');
		for (const page of [ada.page, bram.page]) await expect(page.getByTestId('chat-notice')).toContainText(['Cas left'], { timeout: EXCHANGE_MS });
		await send(bram.page, 'Cas is weg');

		// Ada, who made the group, adds Cas back: Cas has the group again, with what was written meanwhile.
		await ada.page.getByTestId('chat-info').click();
		await expect(ada.page.getByTestId('group-member-row')).toHaveText(['You · made the group', 'Bram']);
		await ada.page.getByTestId('group-add').click();
		await expect(ada.page.getByTestId('group-add-error')).toHaveText('Choose at least one contact to add.');
		await ada.page.getByRole('checkbox', { name: 'Cas' }).check();
		await ada.page.getByTestId('group-add').click();
		await expect(ada.page.getByTestId('group-added')).toHaveText('Added.');
		await expect(ada.page.getByTestId('group-member-row')).toHaveText(['You · made the group', 'Bram', 'Cas']);
		await expect(ada.page.getByTestId('group-no-candidates')).toBeVisible();
		await cas.page.goto(`/chat?id=${encodeURIComponent(groupId)}`);
		await expect(cas.page.getByTestId('messages')).toContainText('Cas is weg', { timeout: EXCHANGE_MS });
		await send(cas.page, 'Weer terug');
		for (const [page, added] of [
			[ada.page, 'You added Cas'],
			[bram.page, 'Ada added Cas']
		] as const) {
			await page.goto(`/chat?id=${encodeURIComponent(groupId)}`);
			await expect(page.getByTestId('messages')).toContainText('Weer terug', { timeout: EXCHANGE_MS });
			await expect(page.getByTestId('chat-notice')).toHaveText(['Cas left', added]);
		}
		await expect(cas.page.getByTestId('chat-notice')).toHaveText(['You left', 'Ada added you']);
		// Bram may add members too (the default rule), and finds no contact left to add.
		await bram.page.getByTestId('chat-info').click();
		await expect(bram.page.getByTestId('group-no-candidates')).toBeVisible();
	} finally {
		await browser.close();
	}
});

test('invites that cannot be used say why: malformed, one’s own, expired, of a deleted account; a browser without an account explains the link', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const ada = await openDevice(browser, baseURL!);
		const bram = await openDevice(browser, baseURL!, { clock: true });
		await createAccount(ada.page, 'Ada', 'Laptop');
		await createAccount(bram.page, 'Bram', 'Phone');
		const link = await showInvite(ada.page);

		// A link cut short, opened in the browser.
		await bram.page.goto(`/contacts/add#contact=${link.split('#contact=')[1]!.slice(0, 20)}`);
		await expect(bram.page.getByTestId('contact-error')).toHaveText(
			'This is not a Samen contact link. Check that the whole link was copied, or ask for a new one.'
		);
		await expect(bram.page.getByTestId('contact-offer')).toHaveCount(0);
		// Pasted text that is no link at all.
		await bram.page.getByTestId('paste-contact').fill('see you at 8');
		await bram.page.getByTestId('use-contact').click();
		await expect(bram.page.getByTestId('contact-error')).toHaveText(
			'This is not a Samen contact link. Check that the whole link was copied, or ask for a new one.'
		);
		// Bram's own invite.
		await bram.page.getByTestId('paste-contact').fill(await bram.page.getByTestId('invite-link').inputValue());
		await bram.page.getByTestId('use-contact').click();
		await expect(bram.page.getByTestId('contact-error')).toHaveText('This is your own invite. Show it to the other person, or scan theirs.');

		// Eight days later, Ada's invite has expired: said when opened, and when pasted.
		await bram.page.clock.setSystemTime(Date.now() + 8 * DAY_MS);
		await bram.page.goto(link);
		await expect(bram.page.getByTestId('contact-error')).toHaveText('This invite has expired (an invite lasts 7 days). Ask the other person for a new code.');
		await expect(bram.page.getByTestId('contact-offer')).toHaveCount(0);
		await bram.page.getByTestId('paste-contact').fill(link);
		await bram.page.getByTestId('use-contact').click();
		await expect(bram.page.getByTestId('contact-error')).toHaveText('This invite has expired (an invite lasts 7 days). Ask the other person for a new code.');
		await expect(bram.page.getByTestId('pending')).toHaveCount(0);

		// Ada deletes her account; Cas, who had her link, asks anyway: the request says the account is gone.
		await ada.page.goto('/settings');
		await ada.page.getByTestId('delete-account').click();
		await ada.page.getByTestId('confirm-leave').click();
		await expect(ada.page.getByTestId('logged-out')).toBeVisible();
		const cas = await openDevice(browser, baseURL!);
		await createAccount(cas.page, 'Cas', 'Tablet');
		await cas.page.goto(link);
		await cas.page.getByTestId('accept-contact').click();
		await expect(cas.page.getByTestId('pending-deleted')).toHaveText('Ada: this account no longer exists.', { timeout: EXCHANGE_MS });

		// A browser that holds no account.
		const stranger = await openDevice(browser, baseURL!);
		await stranger.page.goto(link);
		await expect(stranger.page.getByTestId('contact-link-explained')).toContainText('This link is an invite to become contacts in Samen.');
		await expect(stranger.page.getByTestId('create-account')).toBeVisible();
	} finally {
		await browser.close();
	}
});

test('camera refused on Add contact: the screen says how to allow it, and Paste link leads to the field that sends the request', async ({ baseURL }) => {
	// A camera exists, but nobody answers the permission prompt with yes: Chromium refuses it.
	const browser = await launch(['--use-fake-device-for-media-stream']);
	try {
		const ada = await openDevice(browser, baseURL!);
		const bram = await openDevice(browser, baseURL!, { permissions: [] });
		await createAccount(ada.page, 'Ada', 'Laptop');
		await createAccount(bram.page, 'Bram', 'Phone');
		const link = await showInvite(ada.page);
		await bram.page.goto('/contacts/add');
		await bram.page.getByTestId('scan-contact').click();
		await expect(bram.page.getByTestId('camera-error')).toContainText(
			'Samen may not use the camera. To scan, allow the camera for this site in your browser’s settings (often behind the icon next to the address) and try again. Or paste the other person’s link instead.'
		);
		await expect(bram.page.getByTestId('camera')).toBeHidden();
		await bram.page.getByTestId('paste-instead').click();
		await expect(bram.page.getByTestId('paste-contact')).toBeFocused();
		await bram.page.keyboard.insertText(link);
		await bram.page.keyboard.press('Enter');
		await expect(bram.page.getByTestId('contact-sent')).toHaveText('Request sent: Ada is added when one of their devices is online.');
		await expectContact(ada.page, 'Bram');
		await expectContact(bram.page, 'Ada');
	} finally {
		await browser.close();
	}
});
