/**
 * This device's changes that no other device of the account has had yet, per document: what goes to
 * the mailbox while the device is alone. Kept from the moment the session opens, connected or not,
 * until a peer has had everything this device had or the changes were deposited.
 */
import * as Y from 'yjs';

export class Outbox {
	private readonly undelivered = new Map<string, Uint8Array[]>();

	remember(topic: string, update: Uint8Array): void {
		const updates = this.undelivered.get(topic) ?? [];
		updates.push(update);
		this.undelivered.set(topic, updates);
	}

	/** Another device now holds everything this one had: nothing is left to deliver. */
	delivered(): void {
		this.undelivered.clear();
	}

	get isEmpty(): boolean {
		return this.undelivered.size === 0;
	}

	/** What waits, merged per document. */
	merged(): Map<string, Uint8Array> {
		return new Map([...this.undelivered].map(([topic, updates]) => [topic, Y.mergeUpdates(updates)]));
	}
}
