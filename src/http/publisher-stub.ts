/** The one Publisher (Durable Object) of the repository this Worker serves. */
export const publisherOf = (env: Env) => env.PUBLISHER.getByName(env.REPOSITORY || "default");
