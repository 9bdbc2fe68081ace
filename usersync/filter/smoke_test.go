package filter
import ("testing";"fmt")
func TestSmoke(t *testing.T){
 for _, s := range []string{
  "UsageLocation -eq 'IT'",
  "{ UsageLocation -eq 'IT' -and City -like '*ila*' }",
  "Department -eq 'Sales' -or Department -eq 'Support' -or Department -eq \"Fin`\"ance\"",
  "-not (City -like 'M*') -and Title -notlike 'Eng*'",
  "AccountEnabled -ne $true -and UserPrincipalName -like '*@contoso.com'",
  "ProxyAddresses -contains 'smtp:a@b' -and -not (ProxyAddresses -like '*x')",
  "City -eq 'O''Brien'",
  "LineUri -eq 'x'", "Citi -eq 'x'", "UsageLocation -eq", "UsageLocation -eq IT", "AccountEnabled -like 'x'",
 } {
  p, err := Compile(s)
  if err != nil { fmt.Println(s, "\n  ERR", err); continue }
  fmt.Println(s, "\n ", p.Expr, "\n ", p.String())
 }
}
