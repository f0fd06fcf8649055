/**
 * A chat between two accounts of two devices each, every device in its own browser context:
 * receipts move from sent to delivered to read, reading on one device clears the unread count on
 * the account's other device, and a reply, a reaction, an edit and a deletion for everyone show on
 * the other account's devices.
 */
import { expect, test, type Page } from '@playwright/test';
import { approveByPaste, createAccount, launch, linkedDevices, openDevice, send, showLinkCode } from './devices';

const EXCHANGE_MS = 45_000;

async function openContacts(page: Page): Promise<void> {
	await page.goto('/');
	await page.getByTestId('open-contacts').click();
}

/** Opens the direct chat with `name` from Contacts. */
async function openDirectChat(page: Page, name: string): Promise<void> {
	await page.goto('/contacts');
	await expect(page.getByTestId('contact-name').getByText(name, { exact: true })).toBeVisible({ timeout: EXCHANGE_MS });
	await page.getByTestId('contact').filter({ hasText: name }).click();
	await page.getByTestId('message-contact').click({ timeout: EXCHANGE_MS });
	await expect(page.getByTestId('composer')).toBeVisible();
}

/** The bubble whose own text is `text` (a reply quoting it is another bubble). */
function bubble(page: Page, text: string) {
	return page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
}

test('two accounts of two devices each: receipts, unread on the other device, reply, reaction, edit and delete', async ({ baseURL }) => {
	test.setTimeout(240_000);
	const adaBrowser = await launch();
	const bramBrowser = await launch();
	try {
		const [adaLaptop, adaPhone] = await linkedDevices(adaBrowser, baseURL!, ['Phone']);
		const bramLaptop = await openDevice(bramBrowser, baseURL!);
		const bramTablet = await openDevice(bramBrowser, baseURL!);
		await createAccount(bramLaptop!.page, 'Bram', 'Laptop');
		await approveByPaste(bramLaptop!.page, bramTablet!.page, await showLinkCode(bramTablet!.page, 'Tablet'));

		// Bram opens Ada's invite link on his laptop.
		await openContacts(adaLaptop!.page);
		await adaLaptop!.page.getByTestId('add-contact').click();
		const link = await adaLaptop!.page.getByTestId('invite-link').inputValue();
		await bramLaptop!.page.goto(link);
		await bramLaptop!.page.getByTestId('accept-contact').click();
		await openDirectChat(adaLaptop!.page, 'Bram');

		// Bram's devices are open on the chat list: the message reaches them, unread.
		await bramLaptop!.page.goto('/');
		await bramTablet!.page.goto('/');
		await adaLaptop!.page.getByTestId('composer').fill('Shall we meet on Friday?');
		await adaLaptop!.page.getByTestId('send').click();
		const sent = bubble(adaLaptop!.page, 'Shall we meet on Friday?');
		await expect(sent.getByTestId('message-receipt')).toHaveAttribute('data-receipt', /sent|delivered/);
		await expect(sent.getByTestId('message-receipt')).toHaveText('Delivered', { timeout: EXCHANGE_MS });
		for (const device of [bramLaptop!, bramTablet!]) {
			await expect(device.page.getByTestId('chat-list')).toContainText('1 unread', { timeout: EXCHANGE_MS });
		}

		// Read on the tablet: read for Ada, and no longer unread on Bram's laptop.
		await openDirectChat(bramTablet!.page, 'Ada');
		await expect(bubble(bramTablet!.page, 'Shall we meet on Friday?')).toBeVisible();
		await expect(sent.getByTestId('message-receipt')).toHaveText('Read', { timeout: EXCHANGE_MS });
		await expect(bramLaptop!.page.getByTestId('chat-list')).not.toContainText('unread', { timeout: EXCHANGE_MS });

		// Bram replies from the tablet; both of Ada's devices show the quote.
		await bubble(bramTablet!.page, 'Shall we meet on Friday?').getByTestId('message-actions').click();
		await bramTablet!.page.getByTestId('action-reply').click();
		await expect(bramTablet!.page.getByTestId('composing')).toContainText('Replying to Ada');
		await send(bramTablet!.page, 'Friday works');
		const reply = bubble(adaLaptop!.page, 'Friday works');
		await expect(reply.getByTestId('reply-quote')).toContainText('Shall we meet on Friday?', { timeout: EXCHANGE_MS });
		await openDirectChat(adaPhone!.page, 'Bram');
		await expect(bubble(adaPhone!.page, 'Friday works').getByTestId('reply-quote')).toContainText('Shall we meet on Friday?', { timeout: EXCHANGE_MS });

		// Ada reacts; Bram's tablet shows it. Only her own message offers Edit.
		await reply.getByTestId('message-actions').click();
		await expect(reply.getByTestId('action-edit')).toHaveCount(0);
		await reply.locator('[data-testid="action-react"][data-emoji="👍"]').click();
		await expect(bubble(bramTablet!.page, 'Friday works').getByTestId('reaction')).toHaveText('👍 1', { timeout: EXCHANGE_MS });

		// Ada edits her question; Bram sees the new text, marked edited.
		await sent.getByTestId('message-actions').click();
		await sent.getByTestId('action-edit').click();
		await expect(adaLaptop!.page.getByTestId('composer')).toHaveValue('Shall we meet on Friday?');
		await adaLaptop!.page.getByTestId('composer').fill('Shall we meet on Saturday?');
		await adaLaptop!.page.getByTestId('send').click();
		const edited = bubble(bramTablet!.page, 'Shall we meet on Saturday?');
		await expect(edited.getByTestId('message-edited')).toBeVisible({ timeout: EXCHANGE_MS });
		await expect(bramTablet!.page.getByTestId('messages')).not.toContainText('Shall we meet on Friday?');

		// Bram deletes his reply for everyone; Ada's devices show it deleted, its text gone.
		bramTablet!.page.once('dialog', (dialog) => void dialog.accept());
		await bubble(bramTablet!.page, 'Friday works').getByTestId('message-actions').click();
		await bramTablet!.page.getByTestId('action-delete').click();
		for (const device of [adaLaptop!, adaPhone!]) {
			await expect(device.page.getByTestId('messages')).toContainText('This message was deleted.', { timeout: EXCHANGE_MS });
			await expect(device.page.getByTestId('messages')).not.toContainText('Friday works');
		}

		// The chat list shows the last message's time; Search finds what is stored here, deleted text not.
		await adaPhone!.page.goto('/');
		await expect(adaPhone!.page.getByTestId('chat-time').first()).toHaveText(/^\d{1,2}:\d{2}( [AP]M)?$/);
		await adaPhone!.page.getByTestId('open-search').click();
		// The edited text is found, in any case; the text before the edit and the deleted reply are not.
		await adaPhone!.page.getByTestId('search-query').fill('SATURDAY');
		await expect(adaPhone!.page.getByTestId('search-hit-text')).toHaveText(['Shall we meet on Saturday?']);
		await expect(adaPhone!.page.getByTestId('search-hit')).toContainText('Bram · You');
		await expect(adaPhone!.page.getByTestId('search-hit').locator('mark')).toHaveText('Saturday');
		await adaPhone!.page.getByTestId('search-query').fill('friday');
		await expect(adaPhone!.page.getByTestId('search-none')).toHaveText('No messages on this device hold “friday”.');
		await adaPhone!.page.getByTestId('search-query').fill('works');
		await expect(adaPhone!.page.getByTestId('search-none')).toHaveText('No messages on this device hold “works”.');
		await adaPhone!.page.getByTestId('search-query').fill('saturday');
		await adaPhone!.page.getByTestId('search-hit').click();
		await expect(bubble(adaPhone!.page, 'Shall we meet on Saturday?')).toBeVisible();
	} finally {
		await adaBrowser.close();
		await bramBrowser.close();
	}
});
