// Everything runs in the browser: the keys and the data never exist anywhere else.
export const ssr = false;
export const prerender = false;
