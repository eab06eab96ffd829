// Exact type assertions for the typed usage examples (type-only: never run).
//
//   const port = port4me('vite');
//   export type Checks = [Expect<Equal<typeof port, number>>];
//
// An annotation (`const port: number = port4me()`) also accepts `any`, so a
// declaration that leaked `any` would still compile; Equal does not: `any`
// equals only `any`, `number` is not `number | undefined`, and a readonly
// array is not a mutable one.

/** `true` when A and B are the same type, else `false`. */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when T is `true` ("Type 'false' does not satisfy the constraint 'true'" otherwise). */
export type Expect<T extends true> = T;

/** T as one object type (an intersection or an `Omit` is not `Equal` to the object it stands for). */
export type Flat<T> = { [K in keyof T]: T[K] };
