//! JSON integers as OpenAPI 3.1 and JSON Schema count them: `60.0` is the integer 60.
use serde::de::Error;
use serde::{Deserialize, Deserializer};

fn to_whole<T: TryFrom<i64>, E: Error>(number: serde_json::Number) -> Result<T, E> {
    let value = number
        .as_i64()
        .or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
        .ok_or_else(|| E::custom("expected a whole number"))?;
    T::try_from(value).map_err(|_| E::custom("the number is out of range"))
}

/// For `#[serde(deserialize_with = "whole_number")]` on integer fields.
pub fn whole_number<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    to_whole(serde_json::Number::deserialize(d)?)
}

/// The same for optional integer fields (use with `#[serde(default)]`).
pub fn whole_number_opt<'de, D: Deserializer<'de>, T: TryFrom<i64>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(to_whole)
        .transpose()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "super::whole_number")]
        n: u32,
    }

    #[test]
    fn whole_decimals_are_integers() {
        assert_eq!(
            serde_json::from_str::<Sample>(r#"{"n": 60.0}"#).unwrap().n,
            60
        );
        assert_eq!(
            serde_json::from_str::<Sample>(r#"{"n": 60}"#).unwrap().n,
            60
        );
    }

    #[test]
    fn fractions_negatives_and_strings_are_refused() {
        for bad in [
            r#"{"n": 1.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": "1"}"#,
            r#"{"n": 1e300}"#,
        ] {
            assert!(serde_json::from_str::<Sample>(bad).is_err(), "{bad}");
        }
    }
}
