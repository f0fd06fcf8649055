/** A failure of this device's own storage, with a message a user can act on. */
export class StorageError extends Error {
	constructor(message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = 'StorageError';
	}
}

/** Receives storage failures that no caller awaits: a save in the background, a damaged record skipped while loading. */
export type StorageErrorHandler = (error: StorageError) => void;

/** True for the browser's "no room left" error, whichever way the engine spells it. */
export function isQuotaError(error: unknown): boolean {
	const name = (error as { name?: unknown } | null)?.name;
	return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}
