/**
 * Settings → Storage: what each chat's history takes on this device, and clearing history older
 * than a month here (the other devices keep theirs).
 */
import { SELF_CHAT_ID } from '../chats/messages';
import { watched } from './app.svelte';

export interface StorageRow {
	chatId: string;
	title: string;
	bytes: number;
	months: number;
}

export class StorageModel {
	rows = $state<StorageRow[] | undefined>();
	/** The month (YYYY-MM) from which history is kept, as the user picks it. */
	keepFrom = $state('');
	/** The user asked to clear: the confirm step is showing. */
	confirming = $state(false);
	busy = $state(false);
	/** How many months were cleared by the last clearing. */
	cleared = $state<number | undefined>();
	error = $state('');

	async load(): Promise<void> {
		const session = watched();
		if (!session) return;
		const sizes = await session.storage();
		this.rows = sizes.map(({ chatId, bytes, months }) => {
			const chat = session.chats.chat(chatId);
			return { chatId, title: chatId === SELF_CHAT_ID ? '' : (chat?.title ?? chatId), bytes, months };
		});
	}

	get total(): number {
		return (this.rows ?? []).reduce((sum, row) => sum + row.bytes, 0);
	}

	ask(): void {
		if (!/^\d{4}-\d{2}$/.test(this.keepFrom)) return;
		this.cleared = undefined;
		this.confirming = true;
	}

	cancel(): void {
		this.confirming = false;
	}

	async clear(): Promise<void> {
		const session = watched();
		if (!session || !this.confirming) return;
		this.busy = true;
		this.error = '';
		try {
			this.cleared = await session.clearHistoryBefore(Date.parse(`${this.keepFrom}-01T00:00:00Z`));
			this.confirming = false;
			await this.load();
		} catch (failure) {
			this.error = (failure as Error).message;
		} finally {
			this.busy = false;
		}
	}
}

/** A size in bytes as people read it: 950 B, 12.3 KB, 4.5 MB. */
export function formatBytes(bytes: number, locale: string): string {
	const units = ['B', 'KB', 'MB', 'GB'];
	let value = bytes;
	let unit = 0;
	while (value >= 1000 && unit < units.length - 1) {
		value /= 1000;
		unit++;
	}
	return `${value.toLocaleString(locale, { maximumFractionDigits: unit === 0 ? 0 : 1 })} ${units[unit]}`;
}
