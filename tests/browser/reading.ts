/**
 * Reading a chat the way a user does: the list is virtualized, so only the messages on screen
 * (and a little around) are in the page. To see a whole chat, scroll it from its top to its end.
 */
import { expect, type Page } from '@playwright/test';

/** Scrolls the open chat to its very top, loading every older month on the way. */
export async function scrollChatToTop(page: Page): Promise<void> {
	const scroller = page.getByTestId('messages');
	await expect(async () => {
		await scroller.evaluate((element) => element.scrollTo({ top: 0 }));
		await expect(page.getByTestId('show-earlier')).toHaveCount(0, { timeout: 500 });
		expect(await scroller.evaluate((element) => element.scrollTop)).toBe(0);
	}).toPass({ timeout: 60_000 });
}

/** The texts of every message of the open chat, oldest first, read from its top to its end a screenful at a time. */
export async function readWholeChat(page: Page): Promise<string[]> {
	await scrollChatToTop(page);
	return page.getByTestId('messages').evaluate(async (scroller) => {
		const read: string[] = [];
		const seen = new Set<string>();
		for (;;) {
			// Two frames: the list draws what the new position shows.
			for (let frame = 0; frame < 2; frame++) await new Promise((resolve) => requestAnimationFrame(resolve));
			for (const node of scroller.querySelectorAll('[data-testid="message-text"]')) {
				const text = node.textContent ?? '';
				if (!seen.has(text)) read.push(text);
				seen.add(text);
			}
			const before = scroller.scrollTop;
			scroller.scrollTop = before + scroller.clientHeight * 0.8;
			if (scroller.scrollTop === before) return read;
		}
	});
}
