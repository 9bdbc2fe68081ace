// Package tenantgate is a library that managed service providers embed in
// their own Go services to reach their customers' Microsoft 365 tenants
// safely. See README.md for the overview; the packages are documented on
// their own.
package tenantgate
