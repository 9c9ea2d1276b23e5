import { Errors, type Logger } from "moleculer";
import { invalid } from "../tools/errors";
import { PayerActionRequired, PaymentInputError, ProviderError, ProviderRefusedError } from "./types";

/** Runs a provider call, turning its failures into the contract's 422 / 409 / 503 errors. */
export async function providerCall<T>(logger: Logger, run: () => Promise<T>): Promise<T> {
	try {
		return await run();
	} catch (err) {
		throw providerFailure(logger, err);
	}
}

/** The contract's error for a provider call's failure (anything else is answered as it is). */
export function providerFailure(logger: Logger, err: unknown): unknown {
	if (err instanceof PaymentInputError) return invalid(err.field, err.message, err.type);
	if (err instanceof ProviderRefusedError) {
		// The provider said no to this request: its reason, as a 4xx (retrying cannot help).
		logger.info("Payment provider refused a request", err.provider, err.message);
		return new Errors.MoleculerClientError(err.message, err.conflict ? 409 : 422, "PROVIDER_REFUSED", {
			provider: err.provider,
			reason: err.reason,
		});
	}
	if (err instanceof PayerActionRequired) {
		return new Errors.MoleculerClientError("The payer must choose another way to pay at the provider", 409, "PAYER_ACTION_REQUIRED", {
			provider: err.provider,
			issue: err.issue,
			action: err.action,
		});
	}
	if (err instanceof ProviderError) {
		logger.warn("Payment provider call failed", err.provider, err.message);
		return new Errors.MoleculerError(`${err.provider} is not answering as expected, try again shortly`, 503, "PROVIDER_ERROR", {
			provider: err.provider,
		});
	}
	return err;
}
