/** Time comes from here so that the rules that depend on it can be tested without waiting. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
