package fleet

import "context"

type customerKey struct{}

// WithCustomer returns ctx carrying the customer a job works for. The
// fleet's jobs set it, so that a Graph transport (Budget) can account each
// request to its customer.
func WithCustomer(ctx context.Context, customer string) context.Context {
	return context.WithValue(ctx, customerKey{}, customer)
}

// CustomerFrom returns the customer WithCustomer set, if any.
func CustomerFrom(ctx context.Context) (string, bool) {
	c, ok := ctx.Value(customerKey{}).(string)
	return c, ok
}
