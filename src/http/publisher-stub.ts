/** The one Publisher (Durable Object) of the repository this Worker serves. */
import { repositoryName } from "../publisher/r2-keys.js";

export const publisherOf = (env: Env) => env.PUBLISHER.getByName(repositoryName(env));
