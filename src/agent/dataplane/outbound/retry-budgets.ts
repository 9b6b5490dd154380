// The retry budgets of the outbound stack, one per destination service
// (balance/retry-budget.ts holds the algorithm): retries to a service may add
// at most its TrafficPolicy's share of its recent requests, plus a floor.
import { RetryBudget, type RetryBudgetOptions } from './balance/retry-budget.js';

export interface ServiceBudget {
  /** Counts one original request. */
  deposit(): void;
  /** Whether a retry would be allowed now, without taking it. */
  canWithdraw(): boolean;
  /** Takes one retry from the budget; false when it is spent. */
  tryWithdraw(): boolean;
}

export class RetryBudgets {
  private readonly budgets = new Map<string, { options: RetryBudgetOptions; budget: RetryBudget; view: ServiceBudget }>();

  constructor(private readonly now: () => number) {}

  /** The budget of one destination service; a changed TrafficPolicy starts a fresh one. Bounded by the services in the snapshot. */
  for(service: string, options: RetryBudgetOptions): ServiceBudget {
    const held = this.budgets.get(service);
    if (held && held.options === options) return held.view;
    const budget = new RetryBudget(options);
    const view: ServiceBudget = {
      deposit: () => budget.deposit(this.now()),
      canWithdraw: () => budget.available(this.now()) >= 1,
      tryWithdraw: () => budget.tryWithdraw(this.now()),
    };
    this.budgets.set(service, { options, budget, view });
    return view;
  }
}
