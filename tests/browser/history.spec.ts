import { expect, test } from '@playwright/test';
import { approveByPaste, createAccount, launch, openDevice, openSelfChat, showLinkCode } from './devices';
import { readWholeChat } from './reading';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** How long each data-channel message takes to reach the phone after the one before it. */
const SLOW_LINK_MS = 250;

/** Runs in the page before the app: every data-channel message is handed on `ms` after the one before it, in order. */
function slowDataChannels(ms: number): void {
	const onmessage = Object.getOwnPropertyDescriptor(RTCDataChannel.prototype, 'onmessage')!;
	let next = 0;
	Object.defineProperty(RTCDataChannel.prototype, 'onmessage', {
		configurable: true,
		get(this: RTCDataChannel) {
			return onmessage.get!.call(this);
		},
		set(this: RTCDataChannel, handler: ((event: MessageEvent) => void) | null) {
			if (!handler) return onmessage.set!.call(this, handler);
			onmessage.set!.call(this, (event: MessageEvent) => {
				next = Math.max(performance.now(), next) + ms;
				setTimeout(() => handler.call(this, event), next - performance.now());
			});
		}
	});
}

test('a device linked to an account with two years of history shows exactly the last year, saying how far it has come', async ({ baseURL }) => {
	test.setTimeout(180_000);
	const browser = await launch();
	try {
		const laptop = await openDevice(browser, baseURL!, { clock: true });
		const phone = await openDevice(browser, baseURL!);
		// A slow link to the phone: the history's announcement and its answers arrive a while apart, so the
		// progress between them is on screen for several redraws however fast the machine is.
		await phone.context.addInitScript(slowDataChannels, SLOW_LINK_MS);
		await phone.page.reload();
		await createAccount(laptop.page, 'Ada', 'Laptop');
		await openSelfChat(laptop.page);
		// Two messages a month for two years, written on the laptop at those times.
		const now = Date.now();
		const written: { text: string; at: number }[] = [];
		for (let month = 23; month >= 0; month--) {
			for (const day of [3, 20]) {
				const at = now - month * 30.5 * DAY - (20 - day) * DAY;
				if (at > now) continue;
				await laptop.page.clock.setSystemTime(at);
				const text = `written ${new Date(at).toISOString().slice(0, 10)}`;
				await laptop.page.getByTestId('composer').fill(text);
				await laptop.page.getByTestId('composer').press('Enter');
				written.push({ text, at });
			}
		}
		await expect(laptop.page.getByTestId('message-text').last()).toHaveText(written.at(-1)!.text);
		await laptop.page.clock.setSystemTime(now);
		await laptop.page.goto('/');

		// The phone keeps every text its status bar shows while history arrives.
		await phone.page.evaluate(() => {
			const seen: string[] = [];
			(window as unknown as { statusSeen: string[] }).statusSeen = seen;
			new MutationObserver(() => {
				const text = document.querySelector('[data-testid="sync"]')?.textContent;
				if (text && seen.at(-1) !== text) seen.push(text);
			}).observe(document.body, { childList: true, subtree: true, characterData: true });
		});
		await approveByPaste(laptop.page, phone.page, await showLinkCode(phone.page, 'Phone'));
		await expect(phone.page.getByTestId('sync')).toHaveText('History synced', { timeout: 60_000 });

		const statuses = await phone.page.evaluate(() => (window as unknown as { statusSeen: string[] }).statusSeen);
		expect(statuses.some((status) => /^Syncing history: \d+ of \d+ messages$/.test(status)), statuses.join(' | ')).toBe(true);

		// The chat, scrolled back to its first message: exactly the last year.
		const floor = now - 365 * DAY;
		const expected = written.filter(({ at }) => at >= floor).map(({ text }) => text);
		expect(expected.length).toBeGreaterThan(20);
		expect(expected.length).toBeLessThan(written.length);
		await phone.page.getByTestId('chat-self').click();
		await expect(phone.page.getByTestId('composer')).toBeVisible();
		expect(await readWholeChat(phone.page)).toEqual(expected);
	} finally {
		await browser.close();
	}
});

test('a long chat opens at its newest message and scrolls back to its first, every day under its separator, with only what is on screen in the page', async ({ baseURL }) => {
	test.setTimeout(240_000);
	const browser = await launch();
	try {
		const context = await browser.newContext({ baseURL, timezoneId: 'Europe/Amsterdam', viewport: { width: 390, height: 844 } });
		const page = await context.newPage();
		const now = new Date('2026-11-25T12:00:00+01:00').getTime();
		await page.clock.install({ time: now });
		await page.goto('/');
		await createAccount(page, 'Ada', 'Laptop');
		await openSelfChat(page);

		// Every other day for six months, 33 messages a day: 3,003 messages in seven monthly
		// documents, written through the composer at those times.
		const daysAgo = Array.from({ length: 91 }, (_, i) => 180 - 2 * i);
		const perDay = 33;
		for (const ago of daysAgo) {
			await page.clock.setSystemTime(now - ago * DAY - 3 * HOUR);
			await page.evaluate(
				async ({ ago, perDay }) => {
					const box = document.querySelector('[data-testid="composer"]') as HTMLTextAreaElement;
					for (let n = 1; n <= perDay; n++) {
						box.value = `${ago} days ago, message ${n}`;
						box.dispatchEvent(new Event('input', { bubbles: true }));
						box.form!.requestSubmit();
						// A millisecond apart at least, so that they keep the order they were written in.
						await new Promise((resolve) => setTimeout(resolve, 2));
					}
				},
				{ ago, perDay }
			);
		}
		const newest = `0 days ago, message ${perDay}`;
		const oldest = `${daysAgo[0]} days ago, message 1`;
		await expect(page.getByTestId('message-text').last()).toHaveText(newest);
		await page.clock.setSystemTime(now);

		// A fresh start: the chat opens with its newest month only, at its newest message.
		await page.reload();
		const bubble = (text: string) => page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
		await expect(bubble(newest)).toBeInViewport();
		await expect(page.getByTestId('show-earlier')).toBeVisible();
		await expect(bubble(oldest)).toHaveCount(0);

		// The day separator each message should sit under, as the screen says it.
		const label = (ago: number) => {
			if (ago === 0) return 'Today';
			const at = now - ago * DAY;
			if (ago < 7) return new Intl.DateTimeFormat('en', { weekday: 'long', timeZone: 'Europe/Amsterdam' }).format(at);
			return new Intl.DateTimeFormat('en', { day: 'numeric', month: 'long', timeZone: 'Europe/Amsterdam' }).format(at);
		};
		const labels = Object.fromEntries(daysAgo.map((ago) => [ago, label(ago)]));

		// Scrolled up most of a screen per frame, older months loading on the way, to the very first message.
		const read = await page.getByTestId('messages').evaluate(async (scroller, labels) => {
			const days: string[] = [];
			const misplaced: string[] = [];
			/** Per frame: the position, and the days in the page (told when a check fails). */
			const frames: string[] = [];
			let most = 0;
			let still = 0;
			const started = performance.now();
			while (still < 20 && performance.now() - started < 120_000) {
				for (let frame = 0; frame < 2; frame++) await new Promise((resolve) => requestAnimationFrame(resolve));
				// What the page holds now, in order: each message must follow its own day's separator.
				let day: string | undefined;
				const shownDays = new Set<string>();
				for (const node of scroller.querySelectorAll('[data-testid="day"], [data-testid="message-text"]')) {
					const text = node.textContent ?? '';
					if (node.getAttribute('data-testid') === 'day') {
						if (shownDays.has(text)) misplaced.push(`${text} twice`);
						shownDays.add(text);
						if (!days.includes(text)) days.push(text);
						day = text;
					} else if (day !== undefined && labels[text.split(' ')[0]!] !== day) misplaced.push(`${text} under ${day}`);
				}
				most = Math.max(most, scroller.querySelectorAll('[data-testid="message"]').length);
				const before = scroller.scrollTop;
				frames.push(`${before}/${scroller.scrollHeight}: ${[...shownDays].join(', ')}`);
				scroller.scrollTop = Math.max(0, before - scroller.clientHeight * 0.8);
				still = before === 0 && !scroller.querySelector('[data-testid="show-earlier"]') ? still + 1 : 0;
			}
			return { days, misplaced, most, frames };
		}, labels);

		await expect(bubble(oldest)).toBeInViewport();
		await expect(page.getByTestId('day').first()).toHaveText(labels[daysAgo[0]!]!);
		expect(read.misplaced, read.frames.join('\n')).toEqual([]);
		// Every day, once.
		expect(read.days.sort(), read.frames.join('\n')).toEqual(daysAgo.map((ago) => labels[ago]!).sort());
		// 3,003 messages loaded; the page held a screenful and a little around, never more.
		expect(read.most).toBeGreaterThan(5);
		expect(read.most).toBeLessThanOrEqual(40);

		// From the keyboard: End goes back to the newest message.
		await page.getByTestId('messages').focus();
		await page.keyboard.press('End');
		await expect(bubble(newest)).toBeInViewport();
	} finally {
		await browser.close();
	}
});
